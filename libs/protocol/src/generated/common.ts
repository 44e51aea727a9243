import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from './pbk/v1/BlobPart.js';
import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from './pbk/v1/DataKey.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from './pbk/v1/Failure.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from './pbk/v1/Progress.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from './pbk/v1/SnapshotInfo.js';
import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from './pbk/v1/SnapshotStats.js';
import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from './pbk/v1/SourceRef.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pbk: {
    v1: {
      BackupMode: EnumTypeDefinition
      BlobPart: MessageTypeDefinition<_pbk_v1_BlobPart, _pbk_v1_BlobPart__Output>
      BlobType: EnumTypeDefinition
      DataKey: MessageTypeDefinition<_pbk_v1_DataKey, _pbk_v1_DataKey__Output>
      Failure: MessageTypeDefinition<_pbk_v1_Failure, _pbk_v1_Failure__Output>
      Progress: MessageTypeDefinition<_pbk_v1_Progress, _pbk_v1_Progress__Output>
      SnapshotInfo: MessageTypeDefinition<_pbk_v1_SnapshotInfo, _pbk_v1_SnapshotInfo__Output>
      SnapshotStats: MessageTypeDefinition<_pbk_v1_SnapshotStats, _pbk_v1_SnapshotStats__Output>
      SourceKind: EnumTypeDefinition
      SourceRef: MessageTypeDefinition<_pbk_v1_SourceRef, _pbk_v1_SourceRef__Output>
    }
  }
}

