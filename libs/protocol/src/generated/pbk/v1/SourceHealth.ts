// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';

/**
 * What the agent knows about one of its sources right now.
 */
export interface SourceHealth {
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * "ok", "degraded" or "down", with `detail` saying why.
   */
  'state'?: (string);
  'detail'?: (string);
  /**
   * Source-specific facts for failover evidence (e.g. PostgreSQL role,
   * received/replayed LSN); free-form so new sources need no proto change.
   */
  'facts'?: ({[key: string]: string});
}

/**
 * What the agent knows about one of its sources right now.
 */
export interface SourceHealth__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * "ok", "degraded" or "down", with `detail` saying why.
   */
  'state': (string);
  'detail': (string);
  /**
   * Source-specific facts for failover evidence (e.g. PostgreSQL role,
   * received/replayed LSN); free-form so new sources need no proto change.
   */
  'facts': ({[key: string]: string});
}
