// Original file: ../../protos/pbk/v1/operator.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { Long } from '@grpc/proto-loader';

export interface ValidateRequest {
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * The newest snapshot at or before this time; 0 for the newest.
   */
  'atUnixMs'?: (number | string | Long);
  'snapshotId'?: (Buffer | Uint8Array | string);
  /**
   * Host whose agent runs the checks; empty for source.host.
   */
  'targetHost'?: (string);
}

export interface ValidateRequest__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * The newest snapshot at or before this time; 0 for the newest.
   */
  'atUnixMs': (string);
  'snapshotId': (Buffer);
  /**
   * Host whose agent runs the checks; empty for source.host.
   */
  'targetHost': (string);
}
