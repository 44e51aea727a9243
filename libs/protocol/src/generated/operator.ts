import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentStatus as _pbk_v1_AgentStatus, AgentStatus__Output as _pbk_v1_AgentStatus__Output } from './pbk/v1/AgentStatus.js';
import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from './pbk/v1/BlobPart.js';
import type { CompactRepositoryRequest as _pbk_v1_CompactRepositoryRequest, CompactRepositoryRequest__Output as _pbk_v1_CompactRepositoryRequest__Output } from './pbk/v1/CompactRepositoryRequest.js';
import type { CompactRepositoryResponse as _pbk_v1_CompactRepositoryResponse, CompactRepositoryResponse__Output as _pbk_v1_CompactRepositoryResponse__Output } from './pbk/v1/CompactRepositoryResponse.js';
import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from './pbk/v1/DataKey.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from './pbk/v1/Failure.js';
import type { FilesRestoreOptions as _pbk_v1_FilesRestoreOptions, FilesRestoreOptions__Output as _pbk_v1_FilesRestoreOptions__Output } from './pbk/v1/FilesRestoreOptions.js';
import type { JobAccepted as _pbk_v1_JobAccepted, JobAccepted__Output as _pbk_v1_JobAccepted__Output } from './pbk/v1/JobAccepted.js';
import type { ListSnapshotsRequest as _pbk_v1_ListSnapshotsRequest, ListSnapshotsRequest__Output as _pbk_v1_ListSnapshotsRequest__Output } from './pbk/v1/ListSnapshotsRequest.js';
import type { ListSnapshotsResponse as _pbk_v1_ListSnapshotsResponse, ListSnapshotsResponse__Output as _pbk_v1_ListSnapshotsResponse__Output } from './pbk/v1/ListSnapshotsResponse.js';
import type { OperatorServiceClient as _pbk_v1_OperatorServiceClient, OperatorServiceDefinition as _pbk_v1_OperatorServiceDefinition } from './pbk/v1/OperatorService.js';
import type { PostgresLogicalRestoreOptions as _pbk_v1_PostgresLogicalRestoreOptions, PostgresLogicalRestoreOptions__Output as _pbk_v1_PostgresLogicalRestoreOptions__Output } from './pbk/v1/PostgresLogicalRestoreOptions.js';
import type { PostgresRestoreOptions as _pbk_v1_PostgresRestoreOptions, PostgresRestoreOptions__Output as _pbk_v1_PostgresRestoreOptions__Output } from './pbk/v1/PostgresRestoreOptions.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from './pbk/v1/Progress.js';
import type { RedisRestoreOptions as _pbk_v1_RedisRestoreOptions, RedisRestoreOptions__Output as _pbk_v1_RedisRestoreOptions__Output } from './pbk/v1/RedisRestoreOptions.js';
import type { RepositoryStats as _pbk_v1_RepositoryStats, RepositoryStats__Output as _pbk_v1_RepositoryStats__Output } from './pbk/v1/RepositoryStats.js';
import type { RestoreDone as _pbk_v1_RestoreDone, RestoreDone__Output as _pbk_v1_RestoreDone__Output } from './pbk/v1/RestoreDone.js';
import type { RestoreRequest as _pbk_v1_RestoreRequest, RestoreRequest__Output as _pbk_v1_RestoreRequest__Output } from './pbk/v1/RestoreRequest.js';
import type { RestoreUpdate as _pbk_v1_RestoreUpdate, RestoreUpdate__Output as _pbk_v1_RestoreUpdate__Output } from './pbk/v1/RestoreUpdate.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from './pbk/v1/SnapshotInfo.js';
import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from './pbk/v1/SnapshotStats.js';
import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from './pbk/v1/SourceRef.js';
import type { SourceStatus as _pbk_v1_SourceStatus, SourceStatus__Output as _pbk_v1_SourceStatus__Output } from './pbk/v1/SourceStatus.js';
import type { StartBackupRequest as _pbk_v1_StartBackupRequest, StartBackupRequest__Output as _pbk_v1_StartBackupRequest__Output } from './pbk/v1/StartBackupRequest.js';
import type { StartBackupUpdate as _pbk_v1_StartBackupUpdate, StartBackupUpdate__Output as _pbk_v1_StartBackupUpdate__Output } from './pbk/v1/StartBackupUpdate.js';
import type { StatusRequest as _pbk_v1_StatusRequest, StatusRequest__Output as _pbk_v1_StatusRequest__Output } from './pbk/v1/StatusRequest.js';
import type { StatusResponse as _pbk_v1_StatusResponse, StatusResponse__Output as _pbk_v1_StatusResponse__Output } from './pbk/v1/StatusResponse.js';
import type { ValidateDone as _pbk_v1_ValidateDone, ValidateDone__Output as _pbk_v1_ValidateDone__Output } from './pbk/v1/ValidateDone.js';
import type { ValidateRequest as _pbk_v1_ValidateRequest, ValidateRequest__Output as _pbk_v1_ValidateRequest__Output } from './pbk/v1/ValidateRequest.js';
import type { ValidateUpdate as _pbk_v1_ValidateUpdate, ValidateUpdate__Output as _pbk_v1_ValidateUpdate__Output } from './pbk/v1/ValidateUpdate.js';
import type { ValidationCheck as _pbk_v1_ValidationCheck, ValidationCheck__Output as _pbk_v1_ValidationCheck__Output } from './pbk/v1/ValidationCheck.js';
import type { ValidationReport as _pbk_v1_ValidationReport, ValidationReport__Output as _pbk_v1_ValidationReport__Output } from './pbk/v1/ValidationReport.js';
import type { VerifyProblem as _pbk_v1_VerifyProblem, VerifyProblem__Output as _pbk_v1_VerifyProblem__Output } from './pbk/v1/VerifyProblem.js';
import type { VerifyReport as _pbk_v1_VerifyReport, VerifyReport__Output as _pbk_v1_VerifyReport__Output } from './pbk/v1/VerifyReport.js';
import type { VerifyRequest as _pbk_v1_VerifyRequest, VerifyRequest__Output as _pbk_v1_VerifyRequest__Output } from './pbk/v1/VerifyRequest.js';
import type { VerifyUpdate as _pbk_v1_VerifyUpdate, VerifyUpdate__Output as _pbk_v1_VerifyUpdate__Output } from './pbk/v1/VerifyUpdate.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pbk: {
    v1: {
      AgentStatus: MessageTypeDefinition<_pbk_v1_AgentStatus, _pbk_v1_AgentStatus__Output>
      BackupMode: EnumTypeDefinition
      BlobPart: MessageTypeDefinition<_pbk_v1_BlobPart, _pbk_v1_BlobPart__Output>
      BlobType: EnumTypeDefinition
      CompactRepositoryRequest: MessageTypeDefinition<_pbk_v1_CompactRepositoryRequest, _pbk_v1_CompactRepositoryRequest__Output>
      CompactRepositoryResponse: MessageTypeDefinition<_pbk_v1_CompactRepositoryResponse, _pbk_v1_CompactRepositoryResponse__Output>
      DataKey: MessageTypeDefinition<_pbk_v1_DataKey, _pbk_v1_DataKey__Output>
      Failure: MessageTypeDefinition<_pbk_v1_Failure, _pbk_v1_Failure__Output>
      FilesRestoreOptions: MessageTypeDefinition<_pbk_v1_FilesRestoreOptions, _pbk_v1_FilesRestoreOptions__Output>
      JobAccepted: MessageTypeDefinition<_pbk_v1_JobAccepted, _pbk_v1_JobAccepted__Output>
      ListSnapshotsRequest: MessageTypeDefinition<_pbk_v1_ListSnapshotsRequest, _pbk_v1_ListSnapshotsRequest__Output>
      ListSnapshotsResponse: MessageTypeDefinition<_pbk_v1_ListSnapshotsResponse, _pbk_v1_ListSnapshotsResponse__Output>
      OperatorService: SubtypeConstructor<typeof grpc.Client, _pbk_v1_OperatorServiceClient> & { service: _pbk_v1_OperatorServiceDefinition }
      PostgresLogicalRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresLogicalRestoreOptions, _pbk_v1_PostgresLogicalRestoreOptions__Output>
      PostgresRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresRestoreOptions, _pbk_v1_PostgresRestoreOptions__Output>
      Progress: MessageTypeDefinition<_pbk_v1_Progress, _pbk_v1_Progress__Output>
      RedisRestoreOptions: MessageTypeDefinition<_pbk_v1_RedisRestoreOptions, _pbk_v1_RedisRestoreOptions__Output>
      RepositoryStats: MessageTypeDefinition<_pbk_v1_RepositoryStats, _pbk_v1_RepositoryStats__Output>
      RestoreDone: MessageTypeDefinition<_pbk_v1_RestoreDone, _pbk_v1_RestoreDone__Output>
      RestoreRequest: MessageTypeDefinition<_pbk_v1_RestoreRequest, _pbk_v1_RestoreRequest__Output>
      RestoreUpdate: MessageTypeDefinition<_pbk_v1_RestoreUpdate, _pbk_v1_RestoreUpdate__Output>
      SnapshotInfo: MessageTypeDefinition<_pbk_v1_SnapshotInfo, _pbk_v1_SnapshotInfo__Output>
      SnapshotStats: MessageTypeDefinition<_pbk_v1_SnapshotStats, _pbk_v1_SnapshotStats__Output>
      SourceKind: EnumTypeDefinition
      SourceRef: MessageTypeDefinition<_pbk_v1_SourceRef, _pbk_v1_SourceRef__Output>
      SourceStatus: MessageTypeDefinition<_pbk_v1_SourceStatus, _pbk_v1_SourceStatus__Output>
      StartBackupRequest: MessageTypeDefinition<_pbk_v1_StartBackupRequest, _pbk_v1_StartBackupRequest__Output>
      StartBackupUpdate: MessageTypeDefinition<_pbk_v1_StartBackupUpdate, _pbk_v1_StartBackupUpdate__Output>
      StatusRequest: MessageTypeDefinition<_pbk_v1_StatusRequest, _pbk_v1_StatusRequest__Output>
      StatusResponse: MessageTypeDefinition<_pbk_v1_StatusResponse, _pbk_v1_StatusResponse__Output>
      ValidateDone: MessageTypeDefinition<_pbk_v1_ValidateDone, _pbk_v1_ValidateDone__Output>
      ValidateRequest: MessageTypeDefinition<_pbk_v1_ValidateRequest, _pbk_v1_ValidateRequest__Output>
      ValidateUpdate: MessageTypeDefinition<_pbk_v1_ValidateUpdate, _pbk_v1_ValidateUpdate__Output>
      ValidationCheck: MessageTypeDefinition<_pbk_v1_ValidationCheck, _pbk_v1_ValidationCheck__Output>
      ValidationReport: MessageTypeDefinition<_pbk_v1_ValidationReport, _pbk_v1_ValidationReport__Output>
      VerifyProblem: MessageTypeDefinition<_pbk_v1_VerifyProblem, _pbk_v1_VerifyProblem__Output>
      VerifyReport: MessageTypeDefinition<_pbk_v1_VerifyReport, _pbk_v1_VerifyReport__Output>
      VerifyRequest: MessageTypeDefinition<_pbk_v1_VerifyRequest, _pbk_v1_VerifyRequest__Output>
      VerifyUpdate: MessageTypeDefinition<_pbk_v1_VerifyUpdate, _pbk_v1_VerifyUpdate__Output>
    }
  }
}

