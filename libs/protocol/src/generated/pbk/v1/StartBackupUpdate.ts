// Original file: ../../protos/pbk/v1/operator.proto

import type { JobAccepted as _pbk_v1_JobAccepted, JobAccepted__Output as _pbk_v1_JobAccepted__Output } from '../../pbk/v1/JobAccepted.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from '../../pbk/v1/Progress.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

export interface StartBackupUpdate {
  'jobId'?: (Buffer | Uint8Array | string);
  'accepted'?: (_pbk_v1_JobAccepted | null);
  'progress'?: (_pbk_v1_Progress | null);
  /**
   * Final message of a successful run (wait=true).
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
  'update'?: "accepted"|"progress"|"snapshot";
}

export interface StartBackupUpdate__Output {
  'jobId': (Buffer);
  'accepted'?: (_pbk_v1_JobAccepted__Output | null);
  'progress'?: (_pbk_v1_Progress__Output | null);
  /**
   * Final message of a successful run (wait=true).
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo__Output | null);
  'update'?: "accepted"|"progress"|"snapshot";
}
