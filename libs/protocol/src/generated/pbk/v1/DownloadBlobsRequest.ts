// Original file: ../../protos/pbk/v1/agent.proto


export interface DownloadBlobsRequest {
  /**
   * The snapshot the blobs are read for: it must belong to the caller's host,
   * and the coordinator may refuse ids it does not reference
   * (PERMISSION_DENIED): an agent reads only its own host's backups.
   */
  'snapshotId'?: (Buffer | Uint8Array | string);
  /**
   * Blob ids, streamed back in this order. At most
   * limits.MAX_IDS_PER_DOWNLOAD ids per call.
   */
  'ids'?: (Buffer | Uint8Array | string)[];
}

export interface DownloadBlobsRequest__Output {
  /**
   * The snapshot the blobs are read for: it must belong to the caller's host,
   * and the coordinator may refuse ids it does not reference
   * (PERMISSION_DENIED): an agent reads only its own host's backups.
   */
  'snapshotId': (Buffer);
  /**
   * Blob ids, streamed back in this order. At most
   * limits.MAX_IDS_PER_DOWNLOAD ids per call.
   */
  'ids': (Buffer)[];
}
