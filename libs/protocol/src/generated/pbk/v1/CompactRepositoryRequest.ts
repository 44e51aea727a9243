// Original file: ../../protos/pbk/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface CompactRepositoryRequest {
  /**
   * Report what would be merged, change nothing.
   */
  'dryRun'?: (boolean);
  /**
   * Packs younger than this are left for a later run; 0: the coordinator's
   * setting (maintenance.compactGraceSeconds). 1 merges even the newest ones.
   * The delete delay (what protects readers) cannot be overridden.
   */
  'graceSeconds'?: (number | string | Long);
}

export interface CompactRepositoryRequest__Output {
  /**
   * Report what would be merged, change nothing.
   */
  'dryRun': (boolean);
  /**
   * Packs younger than this are left for a later run; 0: the coordinator's
   * setting (maintenance.compactGraceSeconds). 1 merges even the newest ones.
   * The delete delay (what protects readers) cannot be overridden.
   */
  'graceSeconds': (string);
}
