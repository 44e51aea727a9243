// Original file: ../../protos/pbk/v1/common.proto

/**
 * Mirrors the repository's blob types (docs/repository-format.md).
 */
export const BlobType = {
  BLOB_TYPE_UNSPECIFIED: 'BLOB_TYPE_UNSPECIFIED',
  /**
   * A content-defined chunk of a file, dump or WAL segment.
   */
  BLOB_TYPE_DATA: 'BLOB_TYPE_DATA',
  /**
   * An encoded tree (directory listing with metadata).
   */
  BLOB_TYPE_TREE: 'BLOB_TYPE_TREE',
} as const;

/**
 * Mirrors the repository's blob types (docs/repository-format.md).
 */
export type BlobType =
  | 'BLOB_TYPE_UNSPECIFIED'
  | 0
  /**
   * A content-defined chunk of a file, dump or WAL segment.
   */
  | 'BLOB_TYPE_DATA'
  | 1
  /**
   * An encoded tree (directory listing with metadata).
   */
  | 'BLOB_TYPE_TREE'
  | 2

/**
 * Mirrors the repository's blob types (docs/repository-format.md).
 */
export type BlobType__Output = typeof BlobType[keyof typeof BlobType]
