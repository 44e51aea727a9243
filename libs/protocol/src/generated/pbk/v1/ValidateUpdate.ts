// Original file: ../../protos/pbk/v1/operator.proto

import type { JobAccepted as _pbk_v1_JobAccepted, JobAccepted__Output as _pbk_v1_JobAccepted__Output } from '../../pbk/v1/JobAccepted.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from '../../pbk/v1/Progress.js';
import type { ValidateDone as _pbk_v1_ValidateDone, ValidateDone__Output as _pbk_v1_ValidateDone__Output } from '../../pbk/v1/ValidateDone.js';

export interface ValidateUpdate {
  'jobId'?: (Buffer | Uint8Array | string);
  'accepted'?: (_pbk_v1_JobAccepted | null);
  'progress'?: (_pbk_v1_Progress | null);
  'done'?: (_pbk_v1_ValidateDone | null);
  'update'?: "accepted"|"progress"|"done";
}

export interface ValidateUpdate__Output {
  'jobId': (Buffer);
  'accepted'?: (_pbk_v1_JobAccepted__Output | null);
  'progress'?: (_pbk_v1_Progress__Output | null);
  'done'?: (_pbk_v1_ValidateDone__Output | null);
  'update'?: "accepted"|"progress"|"done";
}
