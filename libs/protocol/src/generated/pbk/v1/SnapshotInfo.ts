// Original file: ../../protos/pbk/v1/common.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { BackupMode as _pbk_v1_BackupMode, BackupMode__Output as _pbk_v1_BackupMode__Output } from '../../pbk/v1/BackupMode.js';
import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from '../../pbk/v1/SnapshotStats.js';
import type { Long } from '@grpc/proto-loader';

/**
 * A committed point-in-time snapshot of one source.
 */
export interface SnapshotInfo {
  'id'?: (Buffer | Uint8Array | string);
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * The backup run that produced it.
   */
  'runId'?: (Buffer | Uint8Array | string);
  'mode'?: (_pbk_v1_BackupMode);
  /**
   * The point in time the snapshot represents (when its scan started);
   * `--at TIME` picks the newest snapshot with time_unix_ms <= TIME.
   */
  'timeUnixMs'?: (number | string | Long);
  /**
   * When the coordinator committed it.
   */
  'committedUnixMs'?: (number | string | Long);
  /**
   * Id of the root tree blob.
   */
  'treeRoot'?: (Buffer | Uint8Array | string);
  /**
   * The snapshot an incremental run trusted; empty for none.
   */
  'parentId'?: (Buffer | Uint8Array | string);
  'stats'?: (_pbk_v1_SnapshotStats | null);
  /**
   * Roots the snapshot covers, as configured on the agent.
   */
  'paths'?: (string)[];
  /**
   * Source-specific facts (e.g. PostgreSQL start_lsn, Redis keys) and tags.
   */
  'labels'?: ({[key: string]: string});
}

/**
 * A committed point-in-time snapshot of one source.
 */
export interface SnapshotInfo__Output {
  'id': (Buffer);
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * The backup run that produced it.
   */
  'runId': (Buffer);
  'mode': (_pbk_v1_BackupMode__Output);
  /**
   * The point in time the snapshot represents (when its scan started);
   * `--at TIME` picks the newest snapshot with time_unix_ms <= TIME.
   */
  'timeUnixMs': (string);
  /**
   * When the coordinator committed it.
   */
  'committedUnixMs': (string);
  /**
   * Id of the root tree blob.
   */
  'treeRoot': (Buffer);
  /**
   * The snapshot an incremental run trusted; empty for none.
   */
  'parentId': (Buffer);
  'stats': (_pbk_v1_SnapshotStats__Output | null);
  /**
   * Roots the snapshot covers, as configured on the agent.
   */
  'paths': (string)[];
  /**
   * Source-specific facts (e.g. PostgreSQL start_lsn, Redis keys) and tags.
   */
  'labels': ({[key: string]: string});
}
