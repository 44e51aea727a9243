import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from './pbk/v1/BlobPart.js';
import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from './pbk/v1/DataKey.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from './pbk/v1/Failure.js';
import type { PostgresLogicalRestoreOptions as _pbk_v1_PostgresLogicalRestoreOptions, PostgresLogicalRestoreOptions__Output as _pbk_v1_PostgresLogicalRestoreOptions__Output } from './pbk/v1/PostgresLogicalRestoreOptions.js';
import type { PostgresRestoreOptions as _pbk_v1_PostgresRestoreOptions, PostgresRestoreOptions__Output as _pbk_v1_PostgresRestoreOptions__Output } from './pbk/v1/PostgresRestoreOptions.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from './pbk/v1/Progress.js';
import type { RedisRestoreOptions as _pbk_v1_RedisRestoreOptions, RedisRestoreOptions__Output as _pbk_v1_RedisRestoreOptions__Output } from './pbk/v1/RedisRestoreOptions.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from './pbk/v1/SnapshotInfo.js';
import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from './pbk/v1/SnapshotStats.js';
import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from './pbk/v1/SourceRef.js';
import type { ValidationCheck as _pbk_v1_ValidationCheck, ValidationCheck__Output as _pbk_v1_ValidationCheck__Output } from './pbk/v1/ValidationCheck.js';
import type { ValidationReport as _pbk_v1_ValidationReport, ValidationReport__Output as _pbk_v1_ValidationReport__Output } from './pbk/v1/ValidationReport.js';

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
      PostgresLogicalRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresLogicalRestoreOptions, _pbk_v1_PostgresLogicalRestoreOptions__Output>
      PostgresRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresRestoreOptions, _pbk_v1_PostgresRestoreOptions__Output>
      Progress: MessageTypeDefinition<_pbk_v1_Progress, _pbk_v1_Progress__Output>
      RedisRestoreOptions: MessageTypeDefinition<_pbk_v1_RedisRestoreOptions, _pbk_v1_RedisRestoreOptions__Output>
      SnapshotInfo: MessageTypeDefinition<_pbk_v1_SnapshotInfo, _pbk_v1_SnapshotInfo__Output>
      SnapshotStats: MessageTypeDefinition<_pbk_v1_SnapshotStats, _pbk_v1_SnapshotStats__Output>
      SourceKind: EnumTypeDefinition
      SourceRef: MessageTypeDefinition<_pbk_v1_SourceRef, _pbk_v1_SourceRef__Output>
      ValidationCheck: MessageTypeDefinition<_pbk_v1_ValidationCheck, _pbk_v1_ValidationCheck__Output>
      ValidationReport: MessageTypeDefinition<_pbk_v1_ValidationReport, _pbk_v1_ValidationReport__Output>
    }
  }
}

