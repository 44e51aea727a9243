// Original file: ../../protos/pbk/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortBackupRequest as _pbk_v1_AbortBackupRequest, AbortBackupRequest__Output as _pbk_v1_AbortBackupRequest__Output } from '../../pbk/v1/AbortBackupRequest.js';
import type { AbortBackupResponse as _pbk_v1_AbortBackupResponse, AbortBackupResponse__Output as _pbk_v1_AbortBackupResponse__Output } from '../../pbk/v1/AbortBackupResponse.js';
import type { AgentMessage as _pbk_v1_AgentMessage, AgentMessage__Output as _pbk_v1_AgentMessage__Output } from '../../pbk/v1/AgentMessage.js';
import type { BeginBackupRequest as _pbk_v1_BeginBackupRequest, BeginBackupRequest__Output as _pbk_v1_BeginBackupRequest__Output } from '../../pbk/v1/BeginBackupRequest.js';
import type { BeginBackupResponse as _pbk_v1_BeginBackupResponse, BeginBackupResponse__Output as _pbk_v1_BeginBackupResponse__Output } from '../../pbk/v1/BeginBackupResponse.js';
import type { CommitBackupRequest as _pbk_v1_CommitBackupRequest, CommitBackupRequest__Output as _pbk_v1_CommitBackupRequest__Output } from '../../pbk/v1/CommitBackupRequest.js';
import type { CommitBackupResponse as _pbk_v1_CommitBackupResponse, CommitBackupResponse__Output as _pbk_v1_CommitBackupResponse__Output } from '../../pbk/v1/CommitBackupResponse.js';
import type { CoordinatorMessage as _pbk_v1_CoordinatorMessage, CoordinatorMessage__Output as _pbk_v1_CoordinatorMessage__Output } from '../../pbk/v1/CoordinatorMessage.js';
import type { DownloadBlobsRequest as _pbk_v1_DownloadBlobsRequest, DownloadBlobsRequest__Output as _pbk_v1_DownloadBlobsRequest__Output } from '../../pbk/v1/DownloadBlobsRequest.js';
import type { DownloadBlobsResponse as _pbk_v1_DownloadBlobsResponse, DownloadBlobsResponse__Output as _pbk_v1_DownloadBlobsResponse__Output } from '../../pbk/v1/DownloadBlobsResponse.js';
import type { GetSnapshotRequest as _pbk_v1_GetSnapshotRequest, GetSnapshotRequest__Output as _pbk_v1_GetSnapshotRequest__Output } from '../../pbk/v1/GetSnapshotRequest.js';
import type { GetSnapshotResponse as _pbk_v1_GetSnapshotResponse, GetSnapshotResponse__Output as _pbk_v1_GetSnapshotResponse__Output } from '../../pbk/v1/GetSnapshotResponse.js';
import type { GetWalRequest as _pbk_v1_GetWalRequest, GetWalRequest__Output as _pbk_v1_GetWalRequest__Output } from '../../pbk/v1/GetWalRequest.js';
import type { GetWalResponse as _pbk_v1_GetWalResponse, GetWalResponse__Output as _pbk_v1_GetWalResponse__Output } from '../../pbk/v1/GetWalResponse.js';
import type { HeartbeatRequest as _pbk_v1_HeartbeatRequest, HeartbeatRequest__Output as _pbk_v1_HeartbeatRequest__Output } from '../../pbk/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _pbk_v1_HeartbeatResponse, HeartbeatResponse__Output as _pbk_v1_HeartbeatResponse__Output } from '../../pbk/v1/HeartbeatResponse.js';
import type { ListWalRequest as _pbk_v1_ListWalRequest, ListWalRequest__Output as _pbk_v1_ListWalRequest__Output } from '../../pbk/v1/ListWalRequest.js';
import type { ListWalResponse as _pbk_v1_ListWalResponse, ListWalResponse__Output as _pbk_v1_ListWalResponse__Output } from '../../pbk/v1/ListWalResponse.js';
import type { MissingBlobsRequest as _pbk_v1_MissingBlobsRequest, MissingBlobsRequest__Output as _pbk_v1_MissingBlobsRequest__Output } from '../../pbk/v1/MissingBlobsRequest.js';
import type { MissingBlobsResponse as _pbk_v1_MissingBlobsResponse, MissingBlobsResponse__Output as _pbk_v1_MissingBlobsResponse__Output } from '../../pbk/v1/MissingBlobsResponse.js';
import type { PutWalRequest as _pbk_v1_PutWalRequest, PutWalRequest__Output as _pbk_v1_PutWalRequest__Output } from '../../pbk/v1/PutWalRequest.js';
import type { PutWalResponse as _pbk_v1_PutWalResponse, PutWalResponse__Output as _pbk_v1_PutWalResponse__Output } from '../../pbk/v1/PutWalResponse.js';
import type { UploadBlobsRequest as _pbk_v1_UploadBlobsRequest, UploadBlobsRequest__Output as _pbk_v1_UploadBlobsRequest__Output } from '../../pbk/v1/UploadBlobsRequest.js';
import type { UploadBlobsResponse as _pbk_v1_UploadBlobsResponse, UploadBlobsResponse__Output as _pbk_v1_UploadBlobsResponse__Output } from '../../pbk/v1/UploadBlobsResponse.js';

export interface AgentServiceClient extends grpc.Client {
  /**
   * Ends a run that will not be committed (failed or cancelled), so the
   * coordinator records the failure and releases the run.
   */
  AbortBackup(argument: _pbk_v1_AbortBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  AbortBackup(argument: _pbk_v1_AbortBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  AbortBackup(argument: _pbk_v1_AbortBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  AbortBackup(argument: _pbk_v1_AbortBackupRequest, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Ends a run that will not be committed (failed or cancelled), so the
   * coordinator records the failure and releases the run.
   */
  abortBackup(argument: _pbk_v1_AbortBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  abortBackup(argument: _pbk_v1_AbortBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  abortBackup(argument: _pbk_v1_AbortBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  abortBackup(argument: _pbk_v1_AbortBackupRequest, callback: grpc.requestCallback<_pbk_v1_AbortBackupResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Opens a backup run of one of the caller's sources and hands out what the
   * agent needs to chunk, id and seal: a fresh DEK, the id-key, the chunker
   * parameters and the parent snapshot for incremental runs.
   */
  BeginBackup(argument: _pbk_v1_BeginBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  BeginBackup(argument: _pbk_v1_BeginBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  BeginBackup(argument: _pbk_v1_BeginBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  BeginBackup(argument: _pbk_v1_BeginBackupRequest, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Opens a backup run of one of the caller's sources and hands out what the
   * agent needs to chunk, id and seal: a fresh DEK, the id-key, the chunker
   * parameters and the parent snapshot for incremental runs.
   */
  beginBackup(argument: _pbk_v1_BeginBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  beginBackup(argument: _pbk_v1_BeginBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  beginBackup(argument: _pbk_v1_BeginBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  beginBackup(argument: _pbk_v1_BeginBackupRequest, callback: grpc.requestCallback<_pbk_v1_BeginBackupResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Commits the run as a snapshot, given its root tree. The coordinator
   * refuses (FAILED_PRECONDITION) when the root or a blob it references is
   * not durable in the repository.
   */
  CommitBackup(argument: _pbk_v1_CommitBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  CommitBackup(argument: _pbk_v1_CommitBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  CommitBackup(argument: _pbk_v1_CommitBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  CommitBackup(argument: _pbk_v1_CommitBackupRequest, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Commits the run as a snapshot, given its root tree. The coordinator
   * refuses (FAILED_PRECONDITION) when the root or a blob it references is
   * not durable in the repository.
   */
  commitBackup(argument: _pbk_v1_CommitBackupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  commitBackup(argument: _pbk_v1_CommitBackupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  commitBackup(argument: _pbk_v1_CommitBackupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  commitBackup(argument: _pbk_v1_CommitBackupRequest, callback: grpc.requestCallback<_pbk_v1_CommitBackupResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The coordinator's command channel. The agent opens it after start-up and
   * keeps it open (reconnecting with backoff); its first message is `hello`.
   * The coordinator sends commands; the agent answers each with an ack, then
   * progress, then exactly one result. No deadline: it lives as long as the
   * agent; HTTP/2 keepalive detects a dead peer.
   */
  Control(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_pbk_v1_AgentMessage, _pbk_v1_CoordinatorMessage__Output>;
  Control(options?: grpc.CallOptions): grpc.ClientDuplexStream<_pbk_v1_AgentMessage, _pbk_v1_CoordinatorMessage__Output>;
  /**
   * The coordinator's command channel. The agent opens it after start-up and
   * keeps it open (reconnecting with backoff); its first message is `hello`.
   * The coordinator sends commands; the agent answers each with an ack, then
   * progress, then exactly one result. No deadline: it lives as long as the
   * agent; HTTP/2 keepalive detects a dead peer.
   */
  control(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_pbk_v1_AgentMessage, _pbk_v1_CoordinatorMessage__Output>;
  control(options?: grpc.CallOptions): grpc.ClientDuplexStream<_pbk_v1_AgentMessage, _pbk_v1_CoordinatorMessage__Output>;
  
  /**
   * Streams sealed blobs for a restore, with the DEKs needed to open them.
   * Trees are blobs too: the agent walks them itself.
   */
  DownloadBlobs(argument: _pbk_v1_DownloadBlobsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_DownloadBlobsResponse__Output>;
  DownloadBlobs(argument: _pbk_v1_DownloadBlobsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_DownloadBlobsResponse__Output>;
  /**
   * Streams sealed blobs for a restore, with the DEKs needed to open them.
   * Trees are blobs too: the agent walks them itself.
   */
  downloadBlobs(argument: _pbk_v1_DownloadBlobsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_DownloadBlobsResponse__Output>;
  downloadBlobs(argument: _pbk_v1_DownloadBlobsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_DownloadBlobsResponse__Output>;
  
  /**
   * Finds a snapshot of one of the caller's sources (restores, incremental parents).
   */
  GetSnapshot(argument: _pbk_v1_GetSnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  GetSnapshot(argument: _pbk_v1_GetSnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  GetSnapshot(argument: _pbk_v1_GetSnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  GetSnapshot(argument: _pbk_v1_GetSnapshotRequest, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Finds a snapshot of one of the caller's sources (restores, incremental parents).
   */
  getSnapshot(argument: _pbk_v1_GetSnapshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  getSnapshot(argument: _pbk_v1_GetSnapshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  getSnapshot(argument: _pbk_v1_GetSnapshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  getSnapshot(argument: _pbk_v1_GetSnapshotRequest, callback: grpc.requestCallback<_pbk_v1_GetSnapshotResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams one WAL file's blobs (restore_command). NOT_FOUND when the
   * coordinator has no complete file of that name: recovery then ends
   * cleanly at the end of the archive.
   */
  GetWal(argument: _pbk_v1_GetWalRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_GetWalResponse__Output>;
  GetWal(argument: _pbk_v1_GetWalRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_GetWalResponse__Output>;
  /**
   * Streams one WAL file's blobs (restore_command). NOT_FOUND when the
   * coordinator has no complete file of that name: recovery then ends
   * cleanly at the end of the archive.
   */
  getWal(argument: _pbk_v1_GetWalRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_GetWalResponse__Output>;
  getWal(argument: _pbk_v1_GetWalRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pbk_v1_GetWalResponse__Output>;
  
  /**
   * Liveness and facts for failover decisions. Sent every
   * heartbeat_interval_ms; one missed heartbeat never triggers a failover.
   */
  Heartbeat(argument: _pbk_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pbk_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pbk_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pbk_v1_HeartbeatRequest, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Liveness and facts for failover decisions. Sent every
   * heartbeat_interval_ms; one missed heartbeat never triggers a failover.
   */
  heartbeat(argument: _pbk_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pbk_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pbk_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pbk_v1_HeartbeatRequest, callback: grpc.requestCallback<_pbk_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The WAL files of one of the caller's sources (restores, catch-up after a
   * restart: what the coordinator already has).
   */
  ListWal(argument: _pbk_v1_ListWalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  ListWal(argument: _pbk_v1_ListWalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  ListWal(argument: _pbk_v1_ListWalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  ListWal(argument: _pbk_v1_ListWalRequest, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The WAL files of one of the caller's sources (restores, catch-up after a
   * restart: what the coordinator already has).
   */
  listWal(argument: _pbk_v1_ListWalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  listWal(argument: _pbk_v1_ListWalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  listWal(argument: _pbk_v1_ListWalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  listWal(argument: _pbk_v1_ListWalRequest, callback: grpc.requestCallback<_pbk_v1_ListWalResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Which of these blob ids the repository lacks (dedup query).
   */
  MissingBlobs(argument: _pbk_v1_MissingBlobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  MissingBlobs(argument: _pbk_v1_MissingBlobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  MissingBlobs(argument: _pbk_v1_MissingBlobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  MissingBlobs(argument: _pbk_v1_MissingBlobsRequest, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Which of these blob ids the repository lacks (dedup query).
   */
  missingBlobs(argument: _pbk_v1_MissingBlobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  missingBlobs(argument: _pbk_v1_MissingBlobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  missingBlobs(argument: _pbk_v1_MissingBlobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  missingBlobs(argument: _pbk_v1_MissingBlobsRequest, callback: grpc.requestCallback<_pbk_v1_MissingBlobsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Records (the growing part of) one WAL file of the run's source: a segment,
   * its `.partial` state, or a timeline history file. Idempotent: the same
   * name with the same content answers already_had; different content under
   * a complete name is INTEGRITY (a second writer, or a forked timeline that
   * reused the name). A growing segment may be re-recorded with more bytes
   * (size only grows, and the old bytes must be a prefix).
   */
  PutWal(argument: _pbk_v1_PutWalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  PutWal(argument: _pbk_v1_PutWalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  PutWal(argument: _pbk_v1_PutWalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  PutWal(argument: _pbk_v1_PutWalRequest, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Records (the growing part of) one WAL file of the run's source: a segment,
   * its `.partial` state, or a timeline history file. Idempotent: the same
   * name with the same content answers already_had; different content under
   * a complete name is INTEGRITY (a second writer, or a forked timeline that
   * reused the name). A growing segment may be re-recorded with more bytes
   * (size only grows, and the old bytes must be a prefix).
   */
  putWal(argument: _pbk_v1_PutWalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  putWal(argument: _pbk_v1_PutWalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  putWal(argument: _pbk_v1_PutWalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  putWal(argument: _pbk_v1_PutWalRequest, callback: grpc.requestCallback<_pbk_v1_PutWalResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams sealed blobs of an open run, in ~1 MiB messages, honouring
   * flow control (write() returning false -> wait for 'drain'). The response
   * is sent only once every blob of the stream is durable (pack fsynced,
   * renamed and indexed): an acknowledged blob is never lost.
   * Errors: INTEGRITY (a blob does not decrypt or hash to its id; nothing of
   * the stream is acknowledged), FAILED_PRECONDITION (run not open).
   */
  UploadBlobs(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  UploadBlobs(metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  UploadBlobs(options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  UploadBlobs(callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  /**
   * Streams sealed blobs of an open run, in ~1 MiB messages, honouring
   * flow control (write() returning false -> wait for 'drain'). The response
   * is sent only once every blob of the stream is durable (pack fsynced,
   * renamed and indexed): an acknowledged blob is never lost.
   * Errors: INTEGRITY (a blob does not decrypt or hash to its id; nothing of
   * the stream is acknowledged), FAILED_PRECONDITION (run not open).
   */
  uploadBlobs(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  uploadBlobs(metadata: grpc.Metadata, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  uploadBlobs(options: grpc.CallOptions, callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  uploadBlobs(callback: grpc.requestCallback<_pbk_v1_UploadBlobsResponse__Output>): grpc.ClientWritableStream<_pbk_v1_UploadBlobsRequest>;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Ends a run that will not be committed (failed or cancelled), so the
   * coordinator records the failure and releases the run.
   */
  AbortBackup: grpc.handleUnaryCall<_pbk_v1_AbortBackupRequest__Output, _pbk_v1_AbortBackupResponse>;
  
  /**
   * Opens a backup run of one of the caller's sources and hands out what the
   * agent needs to chunk, id and seal: a fresh DEK, the id-key, the chunker
   * parameters and the parent snapshot for incremental runs.
   */
  BeginBackup: grpc.handleUnaryCall<_pbk_v1_BeginBackupRequest__Output, _pbk_v1_BeginBackupResponse>;
  
  /**
   * Commits the run as a snapshot, given its root tree. The coordinator
   * refuses (FAILED_PRECONDITION) when the root or a blob it references is
   * not durable in the repository.
   */
  CommitBackup: grpc.handleUnaryCall<_pbk_v1_CommitBackupRequest__Output, _pbk_v1_CommitBackupResponse>;
  
  /**
   * The coordinator's command channel. The agent opens it after start-up and
   * keeps it open (reconnecting with backoff); its first message is `hello`.
   * The coordinator sends commands; the agent answers each with an ack, then
   * progress, then exactly one result. No deadline: it lives as long as the
   * agent; HTTP/2 keepalive detects a dead peer.
   */
  Control: grpc.handleBidiStreamingCall<_pbk_v1_AgentMessage__Output, _pbk_v1_CoordinatorMessage>;
  
  /**
   * Streams sealed blobs for a restore, with the DEKs needed to open them.
   * Trees are blobs too: the agent walks them itself.
   */
  DownloadBlobs: grpc.handleServerStreamingCall<_pbk_v1_DownloadBlobsRequest__Output, _pbk_v1_DownloadBlobsResponse>;
  
  /**
   * Finds a snapshot of one of the caller's sources (restores, incremental parents).
   */
  GetSnapshot: grpc.handleUnaryCall<_pbk_v1_GetSnapshotRequest__Output, _pbk_v1_GetSnapshotResponse>;
  
  /**
   * Streams one WAL file's blobs (restore_command). NOT_FOUND when the
   * coordinator has no complete file of that name: recovery then ends
   * cleanly at the end of the archive.
   */
  GetWal: grpc.handleServerStreamingCall<_pbk_v1_GetWalRequest__Output, _pbk_v1_GetWalResponse>;
  
  /**
   * Liveness and facts for failover decisions. Sent every
   * heartbeat_interval_ms; one missed heartbeat never triggers a failover.
   */
  Heartbeat: grpc.handleUnaryCall<_pbk_v1_HeartbeatRequest__Output, _pbk_v1_HeartbeatResponse>;
  
  /**
   * The WAL files of one of the caller's sources (restores, catch-up after a
   * restart: what the coordinator already has).
   */
  ListWal: grpc.handleUnaryCall<_pbk_v1_ListWalRequest__Output, _pbk_v1_ListWalResponse>;
  
  /**
   * Which of these blob ids the repository lacks (dedup query).
   */
  MissingBlobs: grpc.handleUnaryCall<_pbk_v1_MissingBlobsRequest__Output, _pbk_v1_MissingBlobsResponse>;
  
  /**
   * Records (the growing part of) one WAL file of the run's source: a segment,
   * its `.partial` state, or a timeline history file. Idempotent: the same
   * name with the same content answers already_had; different content under
   * a complete name is INTEGRITY (a second writer, or a forked timeline that
   * reused the name). A growing segment may be re-recorded with more bytes
   * (size only grows, and the old bytes must be a prefix).
   */
  PutWal: grpc.handleUnaryCall<_pbk_v1_PutWalRequest__Output, _pbk_v1_PutWalResponse>;
  
  /**
   * Streams sealed blobs of an open run, in ~1 MiB messages, honouring
   * flow control (write() returning false -> wait for 'drain'). The response
   * is sent only once every blob of the stream is durable (pack fsynced,
   * renamed and indexed): an acknowledged blob is never lost.
   * Errors: INTEGRITY (a blob does not decrypt or hash to its id; nothing of
   * the stream is acknowledged), FAILED_PRECONDITION (run not open).
   */
  UploadBlobs: grpc.handleClientStreamingCall<_pbk_v1_UploadBlobsRequest__Output, _pbk_v1_UploadBlobsResponse>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  AbortBackup: MethodDefinition<_pbk_v1_AbortBackupRequest, _pbk_v1_AbortBackupResponse, _pbk_v1_AbortBackupRequest__Output, _pbk_v1_AbortBackupResponse__Output>
  BeginBackup: MethodDefinition<_pbk_v1_BeginBackupRequest, _pbk_v1_BeginBackupResponse, _pbk_v1_BeginBackupRequest__Output, _pbk_v1_BeginBackupResponse__Output>
  CommitBackup: MethodDefinition<_pbk_v1_CommitBackupRequest, _pbk_v1_CommitBackupResponse, _pbk_v1_CommitBackupRequest__Output, _pbk_v1_CommitBackupResponse__Output>
  Control: MethodDefinition<_pbk_v1_AgentMessage, _pbk_v1_CoordinatorMessage, _pbk_v1_AgentMessage__Output, _pbk_v1_CoordinatorMessage__Output>
  DownloadBlobs: MethodDefinition<_pbk_v1_DownloadBlobsRequest, _pbk_v1_DownloadBlobsResponse, _pbk_v1_DownloadBlobsRequest__Output, _pbk_v1_DownloadBlobsResponse__Output>
  GetSnapshot: MethodDefinition<_pbk_v1_GetSnapshotRequest, _pbk_v1_GetSnapshotResponse, _pbk_v1_GetSnapshotRequest__Output, _pbk_v1_GetSnapshotResponse__Output>
  GetWal: MethodDefinition<_pbk_v1_GetWalRequest, _pbk_v1_GetWalResponse, _pbk_v1_GetWalRequest__Output, _pbk_v1_GetWalResponse__Output>
  Heartbeat: MethodDefinition<_pbk_v1_HeartbeatRequest, _pbk_v1_HeartbeatResponse, _pbk_v1_HeartbeatRequest__Output, _pbk_v1_HeartbeatResponse__Output>
  ListWal: MethodDefinition<_pbk_v1_ListWalRequest, _pbk_v1_ListWalResponse, _pbk_v1_ListWalRequest__Output, _pbk_v1_ListWalResponse__Output>
  MissingBlobs: MethodDefinition<_pbk_v1_MissingBlobsRequest, _pbk_v1_MissingBlobsResponse, _pbk_v1_MissingBlobsRequest__Output, _pbk_v1_MissingBlobsResponse__Output>
  PutWal: MethodDefinition<_pbk_v1_PutWalRequest, _pbk_v1_PutWalResponse, _pbk_v1_PutWalRequest__Output, _pbk_v1_PutWalResponse__Output>
  UploadBlobs: MethodDefinition<_pbk_v1_UploadBlobsRequest, _pbk_v1_UploadBlobsResponse, _pbk_v1_UploadBlobsRequest__Output, _pbk_v1_UploadBlobsResponse__Output>
}
