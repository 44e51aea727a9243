// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';
import type { PostgresRestoreOptions as _pbk_v1_PostgresRestoreOptions, PostgresRestoreOptions__Output as _pbk_v1_PostgresRestoreOptions__Output } from '../../pbk/v1/PostgresRestoreOptions.js';
import type { PostgresLogicalRestoreOptions as _pbk_v1_PostgresLogicalRestoreOptions, PostgresLogicalRestoreOptions__Output as _pbk_v1_PostgresLogicalRestoreOptions__Output } from '../../pbk/v1/PostgresLogicalRestoreOptions.js';
import type { RedisRestoreOptions as _pbk_v1_RedisRestoreOptions, RedisRestoreOptions__Output as _pbk_v1_RedisRestoreOptions__Output } from '../../pbk/v1/RedisRestoreOptions.js';

export interface RestoreCommand {
  /**
   * The snapshot to restore, already chosen by the coordinator.
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
  /**
   * Path inside the snapshot; empty for the whole tree.
   */
  'path'?: (string);
  /**
   * Absolute directory on the agent's host to restore into.
   */
  'targetDir'?: (string);
  /**
   * Allow a non-empty target_dir (existing files are replaced via temp name + rename).
   */
  'force'?: (boolean);
  'postgres'?: (_pbk_v1_PostgresRestoreOptions | null);
  'postgresLogical'?: (_pbk_v1_PostgresLogicalRestoreOptions | null);
  'redis'?: (_pbk_v1_RedisRestoreOptions | null);
  /**
   * Source-specific steps after the tree is written (recovery config, start,
   * checks); unset for a plain files restore. The agent refuses options that
   * do not match the snapshot's source kind.
   */
  'kindOptions'?: "postgres"|"postgresLogical"|"redis";
}

export interface RestoreCommand__Output {
  /**
   * The snapshot to restore, already chosen by the coordinator.
   */
  'snapshot': (_pbk_v1_SnapshotInfo__Output | null);
  /**
   * Path inside the snapshot; empty for the whole tree.
   */
  'path': (string);
  /**
   * Absolute directory on the agent's host to restore into.
   */
  'targetDir': (string);
  /**
   * Allow a non-empty target_dir (existing files are replaced via temp name + rename).
   */
  'force': (boolean);
  'postgres'?: (_pbk_v1_PostgresRestoreOptions__Output | null);
  'postgresLogical'?: (_pbk_v1_PostgresLogicalRestoreOptions__Output | null);
  'redis'?: (_pbk_v1_RedisRestoreOptions__Output | null);
  /**
   * Source-specific steps after the tree is written (recovery config, start,
   * checks); unset for a plain files restore. The agent refuses options that
   * do not match the snapshot's source kind.
   */
  'kindOptions'?: "postgres"|"postgresLogical"|"redis";
}
