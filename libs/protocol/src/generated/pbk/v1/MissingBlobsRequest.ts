// Original file: ../../protos/pbk/v1/agent.proto


export interface MissingBlobsRequest {
  'runId'?: (Buffer | Uint8Array | string);
  /**
   * At most limits.MAX_IDS_PER_MISSING_BLOBS ids per call.
   */
  'ids'?: (Buffer | Uint8Array | string)[];
}

export interface MissingBlobsRequest__Output {
  'runId': (Buffer);
  /**
   * At most limits.MAX_IDS_PER_MISSING_BLOBS ids per call.
   */
  'ids': (Buffer)[];
}
