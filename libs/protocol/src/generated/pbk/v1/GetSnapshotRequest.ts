// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotAt as _pbk_v1_SnapshotAt, SnapshotAt__Output as _pbk_v1_SnapshotAt__Output } from '../../pbk/v1/SnapshotAt.js';

export interface GetSnapshotRequest {
  /**
   * An exact snapshot.
   */
  'snapshotId'?: (Buffer | Uint8Array | string);
  /**
   * The newest snapshot of a source at or before a time.
   */
  'at'?: (_pbk_v1_SnapshotAt | null);
  'selector'?: "snapshotId"|"at";
}

export interface GetSnapshotRequest__Output {
  /**
   * An exact snapshot.
   */
  'snapshotId'?: (Buffer);
  /**
   * The newest snapshot of a source at or before a time.
   */
  'at'?: (_pbk_v1_SnapshotAt__Output | null);
  'selector'?: "snapshotId"|"at";
}
