// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';
import type { RestoreSummary as _pbk_v1_RestoreSummary, RestoreSummary__Output as _pbk_v1_RestoreSummary__Output } from '../../pbk/v1/RestoreSummary.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from '../../pbk/v1/Failure.js';
import type { ValidationReport as _pbk_v1_ValidationReport, ValidationReport__Output as _pbk_v1_ValidationReport__Output } from '../../pbk/v1/ValidationReport.js';

export interface CommandResult {
  'commandId'?: (Buffer | Uint8Array | string);
  /**
   * A committed backup.
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
  'restore'?: (_pbk_v1_RestoreSummary | null);
  /**
   * The command failed or was cancelled (code CANCELLED).
   */
  'failure'?: (_pbk_v1_Failure | null);
  'validation'?: (_pbk_v1_ValidationReport | null);
  'outcome'?: "snapshot"|"restore"|"failure"|"validation";
}

export interface CommandResult__Output {
  'commandId': (Buffer);
  /**
   * A committed backup.
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo__Output | null);
  'restore'?: (_pbk_v1_RestoreSummary__Output | null);
  /**
   * The command failed or was cancelled (code CANCELLED).
   */
  'failure'?: (_pbk_v1_Failure__Output | null);
  'validation'?: (_pbk_v1_ValidationReport__Output | null);
  'outcome'?: "snapshot"|"restore"|"failure"|"validation";
}
