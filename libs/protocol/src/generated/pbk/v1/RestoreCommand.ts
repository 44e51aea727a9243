// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

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
}
