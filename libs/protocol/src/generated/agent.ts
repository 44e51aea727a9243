import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortBackupRequest as _pbk_v1_AbortBackupRequest, AbortBackupRequest__Output as _pbk_v1_AbortBackupRequest__Output } from './pbk/v1/AbortBackupRequest.js';
import type { AbortBackupResponse as _pbk_v1_AbortBackupResponse, AbortBackupResponse__Output as _pbk_v1_AbortBackupResponse__Output } from './pbk/v1/AbortBackupResponse.js';
import type { AgentHello as _pbk_v1_AgentHello, AgentHello__Output as _pbk_v1_AgentHello__Output } from './pbk/v1/AgentHello.js';
import type { AgentMessage as _pbk_v1_AgentMessage, AgentMessage__Output as _pbk_v1_AgentMessage__Output } from './pbk/v1/AgentMessage.js';
import type { AgentServiceClient as _pbk_v1_AgentServiceClient, AgentServiceDefinition as _pbk_v1_AgentServiceDefinition } from './pbk/v1/AgentService.js';
import type { BackupCommand as _pbk_v1_BackupCommand, BackupCommand__Output as _pbk_v1_BackupCommand__Output } from './pbk/v1/BackupCommand.js';
import type { BeginBackupRequest as _pbk_v1_BeginBackupRequest, BeginBackupRequest__Output as _pbk_v1_BeginBackupRequest__Output } from './pbk/v1/BeginBackupRequest.js';
import type { BeginBackupResponse as _pbk_v1_BeginBackupResponse, BeginBackupResponse__Output as _pbk_v1_BeginBackupResponse__Output } from './pbk/v1/BeginBackupResponse.js';
import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from './pbk/v1/BlobPart.js';
import type { CancelCommand as _pbk_v1_CancelCommand, CancelCommand__Output as _pbk_v1_CancelCommand__Output } from './pbk/v1/CancelCommand.js';
import type { ChunkerParams as _pbk_v1_ChunkerParams, ChunkerParams__Output as _pbk_v1_ChunkerParams__Output } from './pbk/v1/ChunkerParams.js';
import type { Command as _pbk_v1_Command, Command__Output as _pbk_v1_Command__Output } from './pbk/v1/Command.js';
import type { CommandAck as _pbk_v1_CommandAck, CommandAck__Output as _pbk_v1_CommandAck__Output } from './pbk/v1/CommandAck.js';
import type { CommandProgress as _pbk_v1_CommandProgress, CommandProgress__Output as _pbk_v1_CommandProgress__Output } from './pbk/v1/CommandProgress.js';
import type { CommandResult as _pbk_v1_CommandResult, CommandResult__Output as _pbk_v1_CommandResult__Output } from './pbk/v1/CommandResult.js';
import type { CommitBackupRequest as _pbk_v1_CommitBackupRequest, CommitBackupRequest__Output as _pbk_v1_CommitBackupRequest__Output } from './pbk/v1/CommitBackupRequest.js';
import type { CommitBackupResponse as _pbk_v1_CommitBackupResponse, CommitBackupResponse__Output as _pbk_v1_CommitBackupResponse__Output } from './pbk/v1/CommitBackupResponse.js';
import type { CoordinatorMessage as _pbk_v1_CoordinatorMessage, CoordinatorMessage__Output as _pbk_v1_CoordinatorMessage__Output } from './pbk/v1/CoordinatorMessage.js';
import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from './pbk/v1/DataKey.js';
import type { DownloadBlobsRequest as _pbk_v1_DownloadBlobsRequest, DownloadBlobsRequest__Output as _pbk_v1_DownloadBlobsRequest__Output } from './pbk/v1/DownloadBlobsRequest.js';
import type { DownloadBlobsResponse as _pbk_v1_DownloadBlobsResponse, DownloadBlobsResponse__Output as _pbk_v1_DownloadBlobsResponse__Output } from './pbk/v1/DownloadBlobsResponse.js';
import type { EnrollRequest as _pbk_v1_EnrollRequest, EnrollRequest__Output as _pbk_v1_EnrollRequest__Output } from './pbk/v1/EnrollRequest.js';
import type { EnrollResponse as _pbk_v1_EnrollResponse, EnrollResponse__Output as _pbk_v1_EnrollResponse__Output } from './pbk/v1/EnrollResponse.js';
import type { EnrollmentServiceClient as _pbk_v1_EnrollmentServiceClient, EnrollmentServiceDefinition as _pbk_v1_EnrollmentServiceDefinition } from './pbk/v1/EnrollmentService.js';
import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from './pbk/v1/Failure.js';
import type { GetSnapshotRequest as _pbk_v1_GetSnapshotRequest, GetSnapshotRequest__Output as _pbk_v1_GetSnapshotRequest__Output } from './pbk/v1/GetSnapshotRequest.js';
import type { GetSnapshotResponse as _pbk_v1_GetSnapshotResponse, GetSnapshotResponse__Output as _pbk_v1_GetSnapshotResponse__Output } from './pbk/v1/GetSnapshotResponse.js';
import type { GetWalRequest as _pbk_v1_GetWalRequest, GetWalRequest__Output as _pbk_v1_GetWalRequest__Output } from './pbk/v1/GetWalRequest.js';
import type { GetWalResponse as _pbk_v1_GetWalResponse, GetWalResponse__Output as _pbk_v1_GetWalResponse__Output } from './pbk/v1/GetWalResponse.js';
import type { HeartbeatRequest as _pbk_v1_HeartbeatRequest, HeartbeatRequest__Output as _pbk_v1_HeartbeatRequest__Output } from './pbk/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _pbk_v1_HeartbeatResponse, HeartbeatResponse__Output as _pbk_v1_HeartbeatResponse__Output } from './pbk/v1/HeartbeatResponse.js';
import type { ListWalRequest as _pbk_v1_ListWalRequest, ListWalRequest__Output as _pbk_v1_ListWalRequest__Output } from './pbk/v1/ListWalRequest.js';
import type { ListWalResponse as _pbk_v1_ListWalResponse, ListWalResponse__Output as _pbk_v1_ListWalResponse__Output } from './pbk/v1/ListWalResponse.js';
import type { MissingBlobsRequest as _pbk_v1_MissingBlobsRequest, MissingBlobsRequest__Output as _pbk_v1_MissingBlobsRequest__Output } from './pbk/v1/MissingBlobsRequest.js';
import type { MissingBlobsResponse as _pbk_v1_MissingBlobsResponse, MissingBlobsResponse__Output as _pbk_v1_MissingBlobsResponse__Output } from './pbk/v1/MissingBlobsResponse.js';
import type { PostgresLogicalRestoreOptions as _pbk_v1_PostgresLogicalRestoreOptions, PostgresLogicalRestoreOptions__Output as _pbk_v1_PostgresLogicalRestoreOptions__Output } from './pbk/v1/PostgresLogicalRestoreOptions.js';
import type { PostgresRestoreOptions as _pbk_v1_PostgresRestoreOptions, PostgresRestoreOptions__Output as _pbk_v1_PostgresRestoreOptions__Output } from './pbk/v1/PostgresRestoreOptions.js';
import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from './pbk/v1/Progress.js';
import type { PutWalRequest as _pbk_v1_PutWalRequest, PutWalRequest__Output as _pbk_v1_PutWalRequest__Output } from './pbk/v1/PutWalRequest.js';
import type { PutWalResponse as _pbk_v1_PutWalResponse, PutWalResponse__Output as _pbk_v1_PutWalResponse__Output } from './pbk/v1/PutWalResponse.js';
import type { RedisRestoreOptions as _pbk_v1_RedisRestoreOptions, RedisRestoreOptions__Output as _pbk_v1_RedisRestoreOptions__Output } from './pbk/v1/RedisRestoreOptions.js';
import type { RestoreCommand as _pbk_v1_RestoreCommand, RestoreCommand__Output as _pbk_v1_RestoreCommand__Output } from './pbk/v1/RestoreCommand.js';
import type { RestoreSummary as _pbk_v1_RestoreSummary, RestoreSummary__Output as _pbk_v1_RestoreSummary__Output } from './pbk/v1/RestoreSummary.js';
import type { SnapshotAt as _pbk_v1_SnapshotAt, SnapshotAt__Output as _pbk_v1_SnapshotAt__Output } from './pbk/v1/SnapshotAt.js';
import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from './pbk/v1/SnapshotInfo.js';
import type { SnapshotStats as _pbk_v1_SnapshotStats, SnapshotStats__Output as _pbk_v1_SnapshotStats__Output } from './pbk/v1/SnapshotStats.js';
import type { SourceHealth as _pbk_v1_SourceHealth, SourceHealth__Output as _pbk_v1_SourceHealth__Output } from './pbk/v1/SourceHealth.js';
import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from './pbk/v1/SourceRef.js';
import type { UploadBlobsRequest as _pbk_v1_UploadBlobsRequest, UploadBlobsRequest__Output as _pbk_v1_UploadBlobsRequest__Output } from './pbk/v1/UploadBlobsRequest.js';
import type { UploadBlobsResponse as _pbk_v1_UploadBlobsResponse, UploadBlobsResponse__Output as _pbk_v1_UploadBlobsResponse__Output } from './pbk/v1/UploadBlobsResponse.js';
import type { ValidateCommand as _pbk_v1_ValidateCommand, ValidateCommand__Output as _pbk_v1_ValidateCommand__Output } from './pbk/v1/ValidateCommand.js';
import type { ValidationCheck as _pbk_v1_ValidationCheck, ValidationCheck__Output as _pbk_v1_ValidationCheck__Output } from './pbk/v1/ValidationCheck.js';
import type { ValidationReport as _pbk_v1_ValidationReport, ValidationReport__Output as _pbk_v1_ValidationReport__Output } from './pbk/v1/ValidationReport.js';
import type { WalFile as _pbk_v1_WalFile, WalFile__Output as _pbk_v1_WalFile__Output } from './pbk/v1/WalFile.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  pbk: {
    v1: {
      AbortBackupRequest: MessageTypeDefinition<_pbk_v1_AbortBackupRequest, _pbk_v1_AbortBackupRequest__Output>
      AbortBackupResponse: MessageTypeDefinition<_pbk_v1_AbortBackupResponse, _pbk_v1_AbortBackupResponse__Output>
      AgentHello: MessageTypeDefinition<_pbk_v1_AgentHello, _pbk_v1_AgentHello__Output>
      AgentMessage: MessageTypeDefinition<_pbk_v1_AgentMessage, _pbk_v1_AgentMessage__Output>
      AgentService: SubtypeConstructor<typeof grpc.Client, _pbk_v1_AgentServiceClient> & { service: _pbk_v1_AgentServiceDefinition }
      BackupCommand: MessageTypeDefinition<_pbk_v1_BackupCommand, _pbk_v1_BackupCommand__Output>
      BackupMode: EnumTypeDefinition
      BeginBackupRequest: MessageTypeDefinition<_pbk_v1_BeginBackupRequest, _pbk_v1_BeginBackupRequest__Output>
      BeginBackupResponse: MessageTypeDefinition<_pbk_v1_BeginBackupResponse, _pbk_v1_BeginBackupResponse__Output>
      BlobPart: MessageTypeDefinition<_pbk_v1_BlobPart, _pbk_v1_BlobPart__Output>
      BlobType: EnumTypeDefinition
      CancelCommand: MessageTypeDefinition<_pbk_v1_CancelCommand, _pbk_v1_CancelCommand__Output>
      ChunkerParams: MessageTypeDefinition<_pbk_v1_ChunkerParams, _pbk_v1_ChunkerParams__Output>
      Command: MessageTypeDefinition<_pbk_v1_Command, _pbk_v1_Command__Output>
      CommandAck: MessageTypeDefinition<_pbk_v1_CommandAck, _pbk_v1_CommandAck__Output>
      CommandProgress: MessageTypeDefinition<_pbk_v1_CommandProgress, _pbk_v1_CommandProgress__Output>
      CommandResult: MessageTypeDefinition<_pbk_v1_CommandResult, _pbk_v1_CommandResult__Output>
      CommitBackupRequest: MessageTypeDefinition<_pbk_v1_CommitBackupRequest, _pbk_v1_CommitBackupRequest__Output>
      CommitBackupResponse: MessageTypeDefinition<_pbk_v1_CommitBackupResponse, _pbk_v1_CommitBackupResponse__Output>
      CoordinatorMessage: MessageTypeDefinition<_pbk_v1_CoordinatorMessage, _pbk_v1_CoordinatorMessage__Output>
      DataKey: MessageTypeDefinition<_pbk_v1_DataKey, _pbk_v1_DataKey__Output>
      DownloadBlobsRequest: MessageTypeDefinition<_pbk_v1_DownloadBlobsRequest, _pbk_v1_DownloadBlobsRequest__Output>
      DownloadBlobsResponse: MessageTypeDefinition<_pbk_v1_DownloadBlobsResponse, _pbk_v1_DownloadBlobsResponse__Output>
      EnrollRequest: MessageTypeDefinition<_pbk_v1_EnrollRequest, _pbk_v1_EnrollRequest__Output>
      EnrollResponse: MessageTypeDefinition<_pbk_v1_EnrollResponse, _pbk_v1_EnrollResponse__Output>
      EnrollmentService: SubtypeConstructor<typeof grpc.Client, _pbk_v1_EnrollmentServiceClient> & { service: _pbk_v1_EnrollmentServiceDefinition }
      Failure: MessageTypeDefinition<_pbk_v1_Failure, _pbk_v1_Failure__Output>
      GetSnapshotRequest: MessageTypeDefinition<_pbk_v1_GetSnapshotRequest, _pbk_v1_GetSnapshotRequest__Output>
      GetSnapshotResponse: MessageTypeDefinition<_pbk_v1_GetSnapshotResponse, _pbk_v1_GetSnapshotResponse__Output>
      GetWalRequest: MessageTypeDefinition<_pbk_v1_GetWalRequest, _pbk_v1_GetWalRequest__Output>
      GetWalResponse: MessageTypeDefinition<_pbk_v1_GetWalResponse, _pbk_v1_GetWalResponse__Output>
      HeartbeatRequest: MessageTypeDefinition<_pbk_v1_HeartbeatRequest, _pbk_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_pbk_v1_HeartbeatResponse, _pbk_v1_HeartbeatResponse__Output>
      ListWalRequest: MessageTypeDefinition<_pbk_v1_ListWalRequest, _pbk_v1_ListWalRequest__Output>
      ListWalResponse: MessageTypeDefinition<_pbk_v1_ListWalResponse, _pbk_v1_ListWalResponse__Output>
      MissingBlobsRequest: MessageTypeDefinition<_pbk_v1_MissingBlobsRequest, _pbk_v1_MissingBlobsRequest__Output>
      MissingBlobsResponse: MessageTypeDefinition<_pbk_v1_MissingBlobsResponse, _pbk_v1_MissingBlobsResponse__Output>
      PostgresLogicalRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresLogicalRestoreOptions, _pbk_v1_PostgresLogicalRestoreOptions__Output>
      PostgresRestoreOptions: MessageTypeDefinition<_pbk_v1_PostgresRestoreOptions, _pbk_v1_PostgresRestoreOptions__Output>
      Progress: MessageTypeDefinition<_pbk_v1_Progress, _pbk_v1_Progress__Output>
      PutWalRequest: MessageTypeDefinition<_pbk_v1_PutWalRequest, _pbk_v1_PutWalRequest__Output>
      PutWalResponse: MessageTypeDefinition<_pbk_v1_PutWalResponse, _pbk_v1_PutWalResponse__Output>
      RedisRestoreOptions: MessageTypeDefinition<_pbk_v1_RedisRestoreOptions, _pbk_v1_RedisRestoreOptions__Output>
      RestoreCommand: MessageTypeDefinition<_pbk_v1_RestoreCommand, _pbk_v1_RestoreCommand__Output>
      RestoreSummary: MessageTypeDefinition<_pbk_v1_RestoreSummary, _pbk_v1_RestoreSummary__Output>
      SnapshotAt: MessageTypeDefinition<_pbk_v1_SnapshotAt, _pbk_v1_SnapshotAt__Output>
      SnapshotInfo: MessageTypeDefinition<_pbk_v1_SnapshotInfo, _pbk_v1_SnapshotInfo__Output>
      SnapshotStats: MessageTypeDefinition<_pbk_v1_SnapshotStats, _pbk_v1_SnapshotStats__Output>
      SourceHealth: MessageTypeDefinition<_pbk_v1_SourceHealth, _pbk_v1_SourceHealth__Output>
      SourceKind: EnumTypeDefinition
      SourceRef: MessageTypeDefinition<_pbk_v1_SourceRef, _pbk_v1_SourceRef__Output>
      UploadBlobsRequest: MessageTypeDefinition<_pbk_v1_UploadBlobsRequest, _pbk_v1_UploadBlobsRequest__Output>
      UploadBlobsResponse: MessageTypeDefinition<_pbk_v1_UploadBlobsResponse, _pbk_v1_UploadBlobsResponse__Output>
      ValidateCommand: MessageTypeDefinition<_pbk_v1_ValidateCommand, _pbk_v1_ValidateCommand__Output>
      ValidationCheck: MessageTypeDefinition<_pbk_v1_ValidationCheck, _pbk_v1_ValidationCheck__Output>
      ValidationReport: MessageTypeDefinition<_pbk_v1_ValidationReport, _pbk_v1_ValidationReport__Output>
      WalFile: MessageTypeDefinition<_pbk_v1_WalFile, _pbk_v1_WalFile__Output>
    }
  }
}

