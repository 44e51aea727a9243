// Original file: ../../protos/pbk/v1/operator.proto

import type { JobAccepted as _pbk_v1_JobAccepted, JobAccepted__Output as _pbk_v1_JobAccepted__Output } from '../../pbk/v1/JobAccepted.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from '../../pbk/v1/Progress.js';
import type { RestoreDone as _pbk_v1_RestoreDone, RestoreDone__Output as _pbk_v1_RestoreDone__Output } from '../../pbk/v1/RestoreDone.js';

export interface RestoreUpdate {
  'jobId'?: (Buffer | Uint8Array | string);
  'accepted'?: (_pbk_v1_JobAccepted | null);
  'progress'?: (_pbk_v1_Progress | null);
  /**
   * Final message of a successful restore.
   */
  'done'?: (_pbk_v1_RestoreDone | null);
  'update'?: "accepted"|"progress"|"done";
}

export interface RestoreUpdate__Output {
  'jobId': (Buffer);
  'accepted'?: (_pbk_v1_JobAccepted__Output | null);
  'progress'?: (_pbk_v1_Progress__Output | null);
  /**
   * Final message of a successful restore.
   */
  'done'?: (_pbk_v1_RestoreDone__Output | null);
  'update'?: "accepted"|"progress"|"done";
}
