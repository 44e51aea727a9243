// Original file: ../../protos/pbk/v1/operator.proto

import type { JobAccepted as _pbk_v1_JobAccepted, JobAccepted__Output as _pbk_v1_JobAccepted__Output } from '../../pbk/v1/JobAccepted.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from '../../pbk/v1/Progress.js';
import type { VerifyReport as _pbk_v1_VerifyReport, VerifyReport__Output as _pbk_v1_VerifyReport__Output } from '../../pbk/v1/VerifyReport.js';

export interface VerifyUpdate {
  'jobId'?: (Buffer | Uint8Array | string);
  'accepted'?: (_pbk_v1_JobAccepted | null);
  'progress'?: (_pbk_v1_Progress | null);
  /**
   * Final message; problems are reported here, not as an RPC error.
   */
  'report'?: (_pbk_v1_VerifyReport | null);
  'update'?: "accepted"|"progress"|"report";
}

export interface VerifyUpdate__Output {
  'jobId': (Buffer);
  'accepted'?: (_pbk_v1_JobAccepted__Output | null);
  'progress'?: (_pbk_v1_Progress__Output | null);
  /**
   * Final message; problems are reported here, not as an RPC error.
   */
  'report'?: (_pbk_v1_VerifyReport__Output | null);
  'update'?: "accepted"|"progress"|"report";
}
