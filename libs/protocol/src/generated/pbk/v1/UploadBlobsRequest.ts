// Original file: ../../protos/pbk/v1/agent.proto

import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from '../../pbk/v1/BlobPart.js';

export interface UploadBlobsRequest {
  /**
   * The open run these blobs belong to; required on the first message,
   * ignored (or must match) on later ones.
   */
  'runId'?: (Buffer | Uint8Array | string);
  /**
   * Parts of one or more blobs, ~1 MiB per message in total.
   */
  'parts'?: (_pbk_v1_BlobPart)[];
}

export interface UploadBlobsRequest__Output {
  /**
   * The open run these blobs belong to; required on the first message,
   * ignored (or must match) on later ones.
   */
  'runId': (Buffer);
  /**
   * Parts of one or more blobs, ~1 MiB per message in total.
   */
  'parts': (_pbk_v1_BlobPart__Output)[];
}
