// Original file: ../../protos/pbk/v1/operator.proto

import type { SourceKind as _pbk_v1_SourceKind, SourceKind__Output as _pbk_v1_SourceKind__Output } from '../../pbk/v1/SourceKind.js';
import type { Long } from '@grpc/proto-loader';

export interface ListSnapshotsRequest {
  /**
   * Filters; empty or unset means any.
   */
  'host'?: (string);
  /**
   * Source name.
   */
  'source'?: (string);
  'kind'?: (_pbk_v1_SourceKind);
  'sinceUnixMs'?: (number | string | Long);
  'untilUnixMs'?: (number | string | Long);
  /**
   * Page size; 0 for the server's default (100), capped at 1000.
   */
  'limit'?: (number);
  /**
   * From a previous response's next_page_token.
   */
  'pageToken'?: (string);
}

export interface ListSnapshotsRequest__Output {
  /**
   * Filters; empty or unset means any.
   */
  'host': (string);
  /**
   * Source name.
   */
  'source': (string);
  'kind': (_pbk_v1_SourceKind__Output);
  'sinceUnixMs': (string);
  'untilUnixMs': (string);
  /**
   * Page size; 0 for the server's default (100), capped at 1000.
   */
  'limit': (number);
  /**
   * From a previous response's next_page_token.
   */
  'pageToken': (string);
}
