// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface UploadBlobsResponse {
  /**
   * Blobs of this stream now durable in the repository.
   */
  'blobsStored'?: (number | string | Long);
  /**
   * Blobs of this stream the repository already had (not stored twice).
   */
  'blobsDuplicate'?: (number | string | Long);
  /**
   * Sealed bytes received on this stream.
   */
  'bytesReceived'?: (number | string | Long);
}

export interface UploadBlobsResponse__Output {
  /**
   * Blobs of this stream now durable in the repository.
   */
  'blobsStored': (string);
  /**
   * Blobs of this stream the repository already had (not stored twice).
   */
  'blobsDuplicate': (string);
  /**
   * Sealed bytes received on this stream.
   */
  'bytesReceived': (string);
}
