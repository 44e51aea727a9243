// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from '../../pbk/v1/SnapshotStats.js';
import type { Long } from '@grpc/proto-loader';

export interface CommitBackupRequest {
  'runId'?: (Buffer | Uint8Array | string);
  /**
   * Id of the root tree blob, uploaded in this or an earlier run.
   */
  'treeRoot'?: (Buffer | Uint8Array | string);
  /**
   * The point in time the snapshot represents (scan start).
   */
  'timeUnixMs'?: (number | string | Long);
  'stats'?: (_pbk_v1_SnapshotStats | null);
  'paths'?: (string)[];
  'labels'?: ({[key: string]: string});
}

export interface CommitBackupRequest__Output {
  'runId': (Buffer);
  /**
   * Id of the root tree blob, uploaded in this or an earlier run.
   */
  'treeRoot': (Buffer);
  /**
   * The point in time the snapshot represents (scan start).
   */
  'timeUnixMs': (string);
  'stats': (_pbk_v1_SnapshotStats__Output | null);
  'paths': (string)[];
  'labels': ({[key: string]: string});
}
