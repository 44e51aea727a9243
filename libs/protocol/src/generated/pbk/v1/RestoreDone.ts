// Original file: ../../protos/pbk/v1/operator.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';
import type { Long } from '@grpc/proto-loader';

export interface RestoreDone {
  /**
   * The snapshot that was restored (the one `at_unix_ms` selected).
   */
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
  'targetHost'?: (string);
  'targetDir'?: (string);
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  /**
   * Source-specific results from the agent (RestoreSummary.facts).
   */
  'facts'?: ({[key: string]: string});
}

export interface RestoreDone__Output {
  /**
   * The snapshot that was restored (the one `at_unix_ms` selected).
   */
  'snapshot': (_pbk_v1_SnapshotInfo__Output | null);
  'targetHost': (string);
  'targetDir': (string);
  'files': (string);
  'dirs': (string);
  'bytes': (string);
  'durationMs': (string);
  /**
   * Source-specific results from the agent (RestoreSummary.facts).
   */
  'facts': ({[key: string]: string});
}
