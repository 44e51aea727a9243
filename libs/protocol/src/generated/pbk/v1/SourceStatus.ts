// Original file: ../../protos/pbk/v1/operator.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from '../../pbk/v1/Failure.js';
import type { Long } from '@grpc/proto-loader';

export interface SourceStatus {
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * The newest committed snapshot; unset when there is none.
   */
  'lastSnapshot'?: (_pbk_v1_SnapshotInfo | null);
  'lastSuccessUnixMs'?: (number | string | Long);
  'lastFailureUnixMs'?: (number | string | Long);
  /**
   * The last failure, when it is newer than the last success.
   */
  'lastFailure'?: (_pbk_v1_Failure | null);
  /**
   * Age of the newest recoverable point against the source's RPO target.
   */
  'rpoAgeMs'?: (number | string | Long);
  'rpoTargetMs'?: (number | string | Long);
  /**
   * "ok", "running", "late" or "failing".
   */
  'state'?: (string);
}

export interface SourceStatus__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * The newest committed snapshot; unset when there is none.
   */
  'lastSnapshot': (_pbk_v1_SnapshotInfo__Output | null);
  'lastSuccessUnixMs': (string);
  'lastFailureUnixMs': (string);
  /**
   * The last failure, when it is newer than the last success.
   */
  'lastFailure': (_pbk_v1_Failure__Output | null);
  /**
   * Age of the newest recoverable point against the source's RPO target.
   */
  'rpoAgeMs': (string);
  'rpoTargetMs': (string);
  /**
   * "ok", "running", "late" or "failing".
   */
  'state': (string);
}
