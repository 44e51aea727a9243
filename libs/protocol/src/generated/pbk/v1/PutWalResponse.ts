// Original file: ../../protos/pbk/v1/agent.proto


export interface PutWalResponse {
  /**
   * The coordinator had exactly this content already (a retry, wal-push twice).
   */
  'alreadyHad'?: (boolean);
}

export interface PutWalResponse__Output {
  /**
   * The coordinator had exactly this content already (a retry, wal-push twice).
   */
  'alreadyHad': (boolean);
}
