// Original file: ../../protos/pbk/v1/common.proto

import type { SourceKind as _pbk_v1_SourceKind, SourceKind__Output as _pbk_v1_SourceKind__Output } from '../../pbk/v1/SourceKind.js';

/**
 * Names one configured source on one host: the unit of scheduling, retention and restore.
 */
export interface SourceRef {
  /**
   * Host name as enrolled (the certificate's host).
   */
  'host'?: (string);
  'kind'?: (_pbk_v1_SourceKind);
  /**
   * Source name from the agent's config, unique per host (e.g. "etc", "main-db").
   */
  'name'?: (string);
}

/**
 * Names one configured source on one host: the unit of scheduling, retention and restore.
 */
export interface SourceRef__Output {
  /**
   * Host name as enrolled (the certificate's host).
   */
  'host': (string);
  'kind': (_pbk_v1_SourceKind__Output);
  /**
   * Source name from the agent's config, unique per host (e.g. "etc", "main-db").
   */
  'name': (string);
}
