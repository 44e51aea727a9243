// Original file: ../../protos/pbk/v1/operator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CompactRepositoryRequest as _pbk_v1_CompactRepositoryRequest, CompactRepositoryRequest__Output as _pbk_v1_CompactRepositoryRequest__Output } from '../../pbk/v1/CompactRepositoryRequest.js';
import type { CompactRepositoryResponse as _pbk_v1_CompactRepositoryResponse, CompactRepositoryResponse__Output as _pbk_v1_CompactRepositoryResponse__Output } from '../../pbk/v1/CompactRepositoryResponse.js';
import type { ListSnapshotsRequest as _pbk_v1_ListSnapshotsRequest, ListSnapshotsRequest__Output as _pbk_v1_ListSnapshotsRequest__Output } from '../../pbk/v1/ListSnapshotsRequest.js';
import type { ListSnapshotsResponse as _pbk_v1_ListSnapshotsResponse, ListSnapshotsResponse__Output as _pbk_v1_ListSnapshotsResponse__Output } from '../../pbk/v1/ListSnapshotsResponse.js';
import type { RestoreRequest as _pbk_v1_RestoreRequest, RestoreRequest__Output as _pbk_v1_RestoreRequest__Output } from '../../pbk/v1/RestoreRequest.js';
import type { RestoreUpdate as _pbk_v1_RestoreUpdate, RestoreUpdate__Output as _pbk_v1_RestoreUpdate__Output } from '../../pbk/v1/RestoreUpdate.js';
import type { StartBackupRequest as _pbk_v1_StartBackupRequest, StartBackupRequest__Output as _pbk_v1_StartBackupRequest__Output } from '../../pbk/v1/StartBackupRequest.js';
import type { StartBackupUpdate as _pbk_v1_StartBackupUpdate, StartBackupUpdate__Output as _pbk_v1_StartBackupUpdate__Output } from '../../pbk/v1/StartBackupUpdate.js';
import type { StatusRequest as _pbk_v1_StatusRequest, StatusRequest__Output as _pbk_v1_StatusRequest__Output } from '../../pbk/v1/StatusRequest.js';
import type { StatusResponse as _pbk_v1_StatusResponse, StatusResponse__Output as _pbk_v1_StatusResponse__Output } from '../../pbk/v1/StatusResponse.js';
import type { ValidateRequest as _pbk_v1_ValidateRequest, ValidateRequest__Output as _pbk_v1_ValidateRequest__Output } from '../../pbk/v1/ValidateRequest.js';
import type { ValidateUpdate as _pbk_v1_ValidateUpdate, ValidateUpdate__Output as _pbk_v1_ValidateUpdate__Output } from '../../pbk/v1/ValidateUpdate.js';
import type { VerifyRequest as _pbk_v1_VerifyRequest, VerifyRequest__Output as _pbk_v1_VerifyRequest__Output } from '../../pbk/v1/VerifyRequest.js';
import type { VerifyUpdate as _pbk_v1_VerifyUpdate, VerifyUpdate__Output as _pbk_v1_VerifyUpdate__Output } from '../../pbk/v1/VerifyUpdate.js';

export interface OperatorServiceClient extends grpc.Client {
  /**
   * Repository maintenance now (what `serve` also runs on an interval): merges
   * small packs into full-size ones, small index objects and WAL manifests into
   * few, writes WAL manifests the repository lacks, and deletes packs replaced
   * by an earlier run once their delay is over. One at a time. Roles: operator, admin.
   */
  CompactRepository(argument: _pbk_v1_CompactRepositoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  CompactRepository(argument: _pbk_v1_CompactRepositoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  CompactRepository(argument: _pbk_v1_CompactRepositoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  CompactRepository(argument: _pbk_v1_CompactRepositoryRequest, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Repository maintenance now (what `serve` also runs on an interval): merges
   * small packs into full-size ones, small index objects and WAL manifests into
   * few, writes WAL manifests the repository lacks, and deletes packs replaced
   * by an earlier run once their delay is over. One at a time. Roles: operator, admin.
   */
  compactRepository(argument: _pbk_v1_CompactRepositoryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  compactRepository(argument: _pbk_v1_CompactRepositoryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  compactRepository(argument: _pbk_v1_CompactRepositoryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  compactRepository(argument: _pbk_v1_CompactRepositoryRequest, callback: grpc.requestCallback<_pbk_v1_CompactRepositoryResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Committed snapshots, newest first.
   */
  ListSnapshots(argument: _pbk_v1_ListSnapshotsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  ListSnapshots(argument: _pbk_v1_ListSnapshotsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  ListSnapshots(argument: _pbk_v1_ListSnapshotsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  ListSnapshots(argument: _pbk_v1_ListSnapshotsRequest, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Committed snapshots, newest first.
   */
  listSnapshots(argument: _pbk_v1_ListSnapshotsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  listSnapshots(argument: _pbk_v1_ListSnapshotsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  listSnapshots(argument: _pbk_v1_ListSnapshotsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  listSnapshots(argument: _pbk_v1_ListSnapshotsRequest, callback: grpc.requestCallback<_pbk_v1_ListSnapshotsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Restores a point in time of a source through the agent of the target host.
   */
  Restore(argument: _pbk_v1_RestoreRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_RestoreUpdate__Output>;
  Restore(argument: _pbk_v1_RestoreRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_RestoreUpdate__Output>;
  /**
   * Restores a point in time of a source through the agent of the target host.
   */
  restore(argument: _pbk_v1_RestoreRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_RestoreUpdate__Output>;
  restore(argument: _pbk_v1_RestoreRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_RestoreUpdate__Output>;
  
  /**
   * Asks the source's agent for a backup now. With wait=false the stream
   * ends after `accepted`; with wait=true it follows the run to its snapshot.
   */
  StartBackup(argument: _pbk_v1_StartBackupRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_StartBackupUpdate__Output>;
  StartBackup(argument: _pbk_v1_StartBackupRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_StartBackupUpdate__Output>;
  /**
   * Asks the source's agent for a backup now. With wait=false the stream
   * ends after `accepted`; with wait=true it follows the run to its snapshot.
   */
  startBackup(argument: _pbk_v1_StartBackupRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_StartBackupUpdate__Output>;
  startBackup(argument: _pbk_v1_StartBackupRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_StartBackupUpdate__Output>;
  
  /**
   * The coordinator, its agents and the freshness of every source.
   */
  Status(argument: _pbk_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _pbk_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _pbk_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  Status(argument: _pbk_v1_StatusRequest, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The coordinator, its agents and the freshness of every source.
   */
  status(argument: _pbk_v1_StatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _pbk_v1_StatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _pbk_v1_StatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  status(argument: _pbk_v1_StatusRequest, callback: grpc.requestCallback<_pbk_v1_StatusResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Restore-tests one snapshot through an agent (by default the source's):
   * restored into scratch space and checked with the source's own tools.
   * The report says what passed; a failed check is not an RPC error.
   */
  Validate(argument: _pbk_v1_ValidateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_ValidateUpdate__Output>;
  Validate(argument: _pbk_v1_ValidateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_ValidateUpdate__Output>;
  /**
   * Restore-tests one snapshot through an agent (by default the source's):
   * restored into scratch space and checked with the source's own tools.
   * The report says what passed; a failed check is not an RPC error.
   */
  validate(argument: _pbk_v1_ValidateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_ValidateUpdate__Output>;
  validate(argument: _pbk_v1_ValidateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_ValidateUpdate__Output>;
  
  /**
   * Checks the repository: structure and references always, and the given
   * share of blob data read back, decrypted and re-hashed.
   */
  Verify(argument: _pbk_v1_VerifyRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_VerifyUpdate__Output>;
  Verify(argument: _pbk_v1_VerifyRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_VerifyUpdate__Output>;
  /**
   * Checks the repository: structure and references always, and the given
   * share of blob data read back, decrypted and re-hashed.
   */
  verify(argument: _pbk_v1_VerifyRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_VerifyUpdate__Output>;
  verify(argument: _pbk_v1_VerifyRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_VerifyUpdate__Output>;
  
}

export interface OperatorServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Repository maintenance now (what `serve` also runs on an interval): merges
   * small packs into full-size ones, small index objects and WAL manifests into
   * few, writes WAL manifests the repository lacks, and deletes packs replaced
   * by an earlier run once their delay is over. One at a time. Roles: operator, admin.
   */
  CompactRepository: grpc.handleUnaryCall<_pbk_v1_CompactRepositoryRequest__Output, _pbk_v1_CompactRepositoryResponse>;
  
  /**
   * Committed snapshots, newest first.
   */
  ListSnapshots: grpc.handleUnaryCall<_pbk_v1_ListSnapshotsRequest__Output, _pbk_v1_ListSnapshotsResponse>;
  
  /**
   * Restores a point in time of a source through the agent of the target host.
   */
  Restore: grpc.handleServerStreamingCall<_pbk_v1_RestoreRequest__Output, _pbk_v1_RestoreUpdate>;
  
  /**
   * Asks the source's agent for a backup now. With wait=false the stream
   * ends after `accepted`; with wait=true it follows the run to its snapshot.
   */
  StartBackup: grpc.handleServerStreamingCall<_pbk_v1_StartBackupRequest__Output, _pbk_v1_StartBackupUpdate>;
  
  /**
   * The coordinator, its agents and the freshness of every source.
   */
  Status: grpc.handleUnaryCall<_pbk_v1_StatusRequest__Output, _pbk_v1_StatusResponse>;
  
  /**
   * Restore-tests one snapshot through an agent (by default the source's):
   * restored into scratch space and checked with the source's own tools.
   * The report says what passed; a failed check is not an RPC error.
   */
  Validate: grpc.handleServerStreamingCall<_pbk_v1_ValidateRequest__Output, _pbk_v1_ValidateUpdate>;
  
  /**
   * Checks the repository: structure and references always, and the given
   * share of blob data read back, decrypted and re-hashed.
   */
  Verify: grpc.handleServerStreamingCall<_pbk_v1_VerifyRequest__Output, _pbk_v1_VerifyUpdate>;
  
}

export interface OperatorServiceDefinition extends grpc.ServiceDefinition {
  CompactRepository: MethodDefinition<_pbk_v1_CompactRepositoryRequest, _pbk_v1_CompactRepositoryResponse, _pbk_v1_CompactRepositoryRequest__Output, _pbk_v1_CompactRepositoryResponse__Output>
  ListSnapshots: MethodDefinition<_pbk_v1_ListSnapshotsRequest, _pbk_v1_ListSnapshotsResponse, _pbk_v1_ListSnapshotsRequest__Output, _pbk_v1_ListSnapshotsResponse__Output>
  Restore: MethodDefinition<_pbk_v1_RestoreRequest, _pbk_v1_RestoreUpdate, _pbk_v1_RestoreRequest__Output, _pbk_v1_RestoreUpdate__Output>
  StartBackup: MethodDefinition<_pbk_v1_StartBackupRequest, _pbk_v1_StartBackupUpdate, _pbk_v1_StartBackupRequest__Output, _pbk_v1_StartBackupUpdate__Output>
  Status: MethodDefinition<_pbk_v1_StatusRequest, _pbk_v1_StatusResponse, _pbk_v1_StatusRequest__Output, _pbk_v1_StatusResponse__Output>
  Validate: MethodDefinition<_pbk_v1_ValidateRequest, _pbk_v1_ValidateUpdate, _pbk_v1_ValidateRequest__Output, _pbk_v1_ValidateUpdate__Output>
  Verify: MethodDefinition<_pbk_v1_VerifyRequest, _pbk_v1_VerifyUpdate, _pbk_v1_VerifyRequest__Output, _pbk_v1_VerifyUpdate__Output>
}
