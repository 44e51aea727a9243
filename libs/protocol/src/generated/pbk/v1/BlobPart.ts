// Original file: ../../protos/pbk/v1/common.proto

import type { BlobType as _pbk_v1_BlobType, BlobType__Output as _pbk_v1_BlobType__Output } from '../../pbk/v1/BlobType.js';

/**
 * One piece of a sealed blob. Used for uploads and downloads alike.
 * A blob travels as one or more consecutive parts, offsets contiguous from 0;
 * it is complete when offset + len(data) == sealed_length. Parts of two blobs
 * never interleave. Large chunks (up to 8 MiB) therefore never need a message
 * over the size limit, and small blobs share a ~1 MiB message.
 */
export interface BlobPart {
  /**
   * Blob id: HMAC-SHA-256(repository id-key, plaintext). Set on every part.
   */
  'id'?: (Buffer | Uint8Array | string);
  'type'?: (_pbk_v1_BlobType);
  /**
   * Id of the DEK the blob is sealed with.
   */
  'dekId'?: (Buffer | Uint8Array | string);
  /**
   * Plaintext length before compression.
   */
  'rawLength'?: (number);
  /**
   * Total length of the sealed blob (nonce || ciphertext || tag).
   */
  'sealedLength'?: (number);
  /**
   * Offset of `data` inside the sealed blob.
   */
  'offset'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  /**
   * Uploads: a hint, the id of the blob this one most likely differs little
   * from (the previous version of the same piece of the same file). The
   * coordinator may store the blob as a delta against it
   * (docs/repository-format.md, "Delta blobs"); an unknown or unsuitable id
   * costs nothing. Downloads: the blob travels as it is stored, a delta whose
   * payload needs this base blob's plaintext; the base was sent on this stream
   * just before it, with base_only set. Set on every part, or on none.
   */
  'deltaBase'?: (Buffer | Uint8Array | string);
  /**
   * Downloads: not asked for; the base of the next blob on the stream.
   */
  'baseOnly'?: (boolean);
}

/**
 * One piece of a sealed blob. Used for uploads and downloads alike.
 * A blob travels as one or more consecutive parts, offsets contiguous from 0;
 * it is complete when offset + len(data) == sealed_length. Parts of two blobs
 * never interleave. Large chunks (up to 8 MiB) therefore never need a message
 * over the size limit, and small blobs share a ~1 MiB message.
 */
export interface BlobPart__Output {
  /**
   * Blob id: HMAC-SHA-256(repository id-key, plaintext). Set on every part.
   */
  'id': (Buffer);
  'type': (_pbk_v1_BlobType__Output);
  /**
   * Id of the DEK the blob is sealed with.
   */
  'dekId': (Buffer);
  /**
   * Plaintext length before compression.
   */
  'rawLength': (number);
  /**
   * Total length of the sealed blob (nonce || ciphertext || tag).
   */
  'sealedLength': (number);
  /**
   * Offset of `data` inside the sealed blob.
   */
  'offset': (number);
  'data': (Buffer);
  /**
   * Uploads: a hint, the id of the blob this one most likely differs little
   * from (the previous version of the same piece of the same file). The
   * coordinator may store the blob as a delta against it
   * (docs/repository-format.md, "Delta blobs"); an unknown or unsuitable id
   * costs nothing. Downloads: the blob travels as it is stored, a delta whose
   * payload needs this base blob's plaintext; the base was sent on this stream
   * just before it, with base_only set. Set on every part, or on none.
   */
  'deltaBase': (Buffer);
  /**
   * Downloads: not asked for; the base of the next blob on the stream.
   */
  'baseOnly': (boolean);
}
