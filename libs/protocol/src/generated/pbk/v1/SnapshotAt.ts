// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { Long } from '@grpc/proto-loader';

export interface SnapshotAt {
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * 0 for the newest.
   */
  'timeUnixMs'?: (number | string | Long);
}

export interface SnapshotAt__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * 0 for the newest.
   */
  'timeUnixMs': (string);
}
