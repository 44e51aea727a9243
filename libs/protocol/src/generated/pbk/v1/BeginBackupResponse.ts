// Original file: ../../protos/pbk/v1/agent.proto

import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from '../../pbk/v1/DataKey.js';
import type { ChunkerParams as _pbk_v1_ChunkerParams, ChunkerParams__Output as _pbk_v1_ChunkerParams__Output } from '../../pbk/v1/ChunkerParams.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

export interface BeginBackupResponse {
  'runId'?: (Buffer | Uint8Array | string);
  /**
   * The run's fresh DEK: every blob uploaded in this run is sealed with it.
   */
  'dek'?: (_pbk_v1_DataKey | null);
  /**
   * The repository id-key: blob id = HMAC-SHA-256(id_key, plaintext).
   */
  'idKey'?: (Buffer | Uint8Array | string);
  'chunker'?: (_pbk_v1_ChunkerParams | null);
  /**
   * The latest committed snapshot of this source, for incremental runs to
   * trust size+mtime+inode; unset when there is none or mode is FULL.
   */
  'parent'?: (_pbk_v1_SnapshotInfo | null);
  /**
   * zstd level the repository uses for new blobs; negative = zstd's fast
   * levels; 0 = the agent's default.
   */
  'compressionLevel'?: (number);
}

export interface BeginBackupResponse__Output {
  'runId': (Buffer);
  /**
   * The run's fresh DEK: every blob uploaded in this run is sealed with it.
   */
  'dek': (_pbk_v1_DataKey__Output | null);
  /**
   * The repository id-key: blob id = HMAC-SHA-256(id_key, plaintext).
   */
  'idKey': (Buffer);
  'chunker': (_pbk_v1_ChunkerParams__Output | null);
  /**
   * The latest committed snapshot of this source, for incremental runs to
   * trust size+mtime+inode; unset when there is none or mode is FULL.
   */
  'parent': (_pbk_v1_SnapshotInfo__Output | null);
  /**
   * zstd level the repository uses for new blobs; negative = zstd's fast
   * levels; 0 = the agent's default.
   */
  'compressionLevel': (number);
}
