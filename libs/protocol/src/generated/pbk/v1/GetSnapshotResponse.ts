// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

export interface GetSnapshotResponse {
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
}

export interface GetSnapshotResponse__Output {
  'snapshot': (_pbk_v1_SnapshotInfo__Output | null);
}
