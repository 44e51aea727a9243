// Original file: ../../protos/pbk/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface RepositoryStats {
  'snapshots'?: (number | string | Long);
  'packs'?: (number | string | Long);
  'blobs'?: (number | string | Long);
  /**
   * Sealed bytes stored in packs.
   */
  'storedBytes'?: (number | string | Long);
}

export interface RepositoryStats__Output {
  'snapshots': (string);
  'packs': (string);
  'blobs': (string);
  /**
   * Sealed bytes stored in packs.
   */
  'storedBytes': (string);
}
