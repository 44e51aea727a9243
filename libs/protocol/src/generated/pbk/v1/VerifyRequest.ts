// Original file: ../../protos/pbk/v1/operator.proto


export interface VerifyRequest {
  /**
   * Share of blob data to read back, decrypt and re-hash, 0..100; packs are
   * picked at random each run so repeated runs cover everything.
   */
  'readDataPercent'?: (number | string);
}

export interface VerifyRequest__Output {
  /**
   * Share of blob data to read back, decrypt and re-hash, 0..100; packs are
   * picked at random each run so repeated runs cover everything.
   */
  'readDataPercent': (number);
}
