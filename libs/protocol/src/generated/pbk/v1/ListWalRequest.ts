// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';

export interface ListWalRequest {
  /**
   * One of the caller's sources (kind POSTGRES).
   */
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * Only names >= this one (sorted as PostgreSQL sorts them); empty for all.
   */
  'fromFileName'?: (string);
  /**
   * Page size; 0 for the server default (1000).
   */
  'limit'?: (number);
}

export interface ListWalRequest__Output {
  /**
   * One of the caller's sources (kind POSTGRES).
   */
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * Only names >= this one (sorted as PostgreSQL sorts them); empty for all.
   */
  'fromFileName': (string);
  /**
   * Page size; 0 for the server default (1000).
   */
  'limit': (number);
}
