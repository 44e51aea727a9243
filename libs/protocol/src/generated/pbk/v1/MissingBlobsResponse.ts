// Original file: ../../protos/pbk/v1/agent.proto


export interface MissingBlobsResponse {
  /**
   * The subset of the request's ids the repository lacks, in request order.
   */
  'missing'?: (Buffer | Uint8Array | string)[];
}

export interface MissingBlobsResponse__Output {
  /**
   * The subset of the request's ids the repository lacks, in request order.
   */
  'missing': (Buffer)[];
}
