// Original file: ../../protos/pbk/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Figures of one snapshot.
 */
export interface SnapshotStats {
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  /**
   * Plaintext bytes the snapshot describes.
   */
  'totalBytes'?: (number | string | Long);
  /**
   * Plaintext bytes of blobs the repository did not have before.
   */
  'newBytes'?: (number | string | Long);
  /**
   * Sealed (compressed, encrypted) bytes actually uploaded.
   */
  'uploadedBytes'?: (number | string | Long);
  'newBlobs'?: (number | string | Long);
  /**
   * Entries that could not be read consistently and were recorded, not stored.
   */
  'skipped'?: (number | string | Long);
  /**
   * Sealed bytes the repository actually stored for this run: uploaded_bytes
   * after delta encoding; deduplicated blobs count 0.
   */
  'storedBytes'?: (number | string | Long);
}

/**
 * Figures of one snapshot.
 */
export interface SnapshotStats__Output {
  'files': (string);
  'dirs': (string);
  /**
   * Plaintext bytes the snapshot describes.
   */
  'totalBytes': (string);
  /**
   * Plaintext bytes of blobs the repository did not have before.
   */
  'newBytes': (string);
  /**
   * Sealed (compressed, encrypted) bytes actually uploaded.
   */
  'uploadedBytes': (string);
  'newBlobs': (string);
  /**
   * Entries that could not be read consistently and were recorded, not stored.
   */
  'skipped': (string);
  /**
   * Sealed bytes the repository actually stored for this run: uploaded_bytes
   * after delta encoding; deduplicated blobs count 0.
   */
  'storedBytes': (string);
}
