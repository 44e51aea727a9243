// Original file: ../../protos/pbk/v1/operator.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

export interface ListSnapshotsResponse {
  'snapshots'?: (_pbk_v1_SnapshotInfo)[];
  /**
   * Empty when this is the last page.
   */
  'nextPageToken'?: (string);
}

export interface ListSnapshotsResponse__Output {
  'snapshots': (_pbk_v1_SnapshotInfo__Output)[];
  /**
   * Empty when this is the last page.
   */
  'nextPageToken': (string);
}
