// Original file: ../../protos/pbk/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface CompactRepositoryResponse {
  /**
   * Pack files in the repository before and after (replaced packs waiting for
   * their delete delay still count).
   */
  'packsBefore'?: (number | string | Long);
  'packsAfter'?: (number | string | Long);
  /**
   * Small packs merged, and the full-size packs written for them.
   */
  'packsCompacted'?: (number | string | Long);
  'packsWritten'?: (number | string | Long);
  /**
   * Replaced packs deleted (their delay over), and unindexed leftovers of
   * interrupted runs deleted because every blob of theirs is indexed elsewhere.
   */
  'packsDeleted'?: (number | string | Long);
  'orphansDeleted'?: (number | string | Long);
  /**
   * Replaced packs still waiting for the delete delay.
   */
  'pendingDeletes'?: (number | string | Long);
  'blobsCopied'?: (number | string | Long);
  'bytesCopied'?: (number | string | Long);
  'indexObjectsBefore'?: (number | string | Long);
  'indexObjectsWritten'?: (number | string | Long);
  'indexObjectsRemoved'?: (number | string | Long);
  'walManifestsBefore'?: (number | string | Long);
  'walManifestsWritten'?: (number | string | Long);
  'walManifestsRemoved'?: (number | string | Long);
  /**
   * Complete WAL files the catalog had and no WAL manifest named (written now).
   */
  'walFilesBackfilled'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  'dryRun'?: (boolean);
}

export interface CompactRepositoryResponse__Output {
  /**
   * Pack files in the repository before and after (replaced packs waiting for
   * their delete delay still count).
   */
  'packsBefore': (string);
  'packsAfter': (string);
  /**
   * Small packs merged, and the full-size packs written for them.
   */
  'packsCompacted': (string);
  'packsWritten': (string);
  /**
   * Replaced packs deleted (their delay over), and unindexed leftovers of
   * interrupted runs deleted because every blob of theirs is indexed elsewhere.
   */
  'packsDeleted': (string);
  'orphansDeleted': (string);
  /**
   * Replaced packs still waiting for the delete delay.
   */
  'pendingDeletes': (string);
  'blobsCopied': (string);
  'bytesCopied': (string);
  'indexObjectsBefore': (string);
  'indexObjectsWritten': (string);
  'indexObjectsRemoved': (string);
  'walManifestsBefore': (string);
  'walManifestsWritten': (string);
  'walManifestsRemoved': (string);
  /**
   * Complete WAL files the catalog had and no WAL manifest named (written now).
   */
  'walFilesBackfilled': (string);
  'durationMs': (string);
  'dryRun': (boolean);
}
