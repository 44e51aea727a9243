// Original file: ../../protos/pbk/v1/operator.proto


export interface CompactRepositoryRequest {
  /**
   * Report what would be merged, change nothing.
   */
  'dryRun'?: (boolean);
}

export interface CompactRepositoryRequest__Output {
  /**
   * Report what would be merged, change nothing.
   */
  'dryRun': (boolean);
}
