// Original file: ../../protos/pbk/v1/operator.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';
import type { ValidationReport as _pbk_v1_ValidationReport, ValidationReport__Output as _pbk_v1_ValidationReport__Output } from '../../pbk/v1/ValidationReport.js';

export interface ValidateDone {
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
  'report'?: (_pbk_v1_ValidationReport | null);
}

export interface ValidateDone__Output {
  'snapshot': (_pbk_v1_SnapshotInfo__Output | null);
  'report': (_pbk_v1_ValidationReport__Output | null);
}
