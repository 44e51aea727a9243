// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { BackupMode as _pbk_v1_BackupMode, BackupMode__Output as _pbk_v1_BackupMode__Output } from '../../pbk/v1/BackupMode.js';

export interface BeginBackupRequest {
  /**
   * One of the caller's sources; source.host must be empty or the
   * certificate's host (PERMISSION_DENIED otherwise).
   */
  'source'?: (_pbk_v1_SourceRef | null);
  'mode'?: (_pbk_v1_BackupMode);
  /**
   * The command that asked for this run; empty when the agent's own
   * schedule or file watcher started it.
   */
  'commandId'?: (Buffer | Uint8Array | string);
  /**
   * Resume an interrupted run (agent restart, coordinator restart): the
   * coordinator returns the same run and DEK if the run is still open, or
   * FAILED_PRECONDITION if it is not (start a new one).
   */
  'resumeRunId'?: (Buffer | Uint8Array | string);
  /**
   * Opens the source's WAL run instead of a snapshot run (PostgreSQL only):
   * it is never committed; PutWal records what its blobs hold. It stays open
   * while the agent uses it and is resumed like any run.
   */
  'walStream'?: (boolean);
}

export interface BeginBackupRequest__Output {
  /**
   * One of the caller's sources; source.host must be empty or the
   * certificate's host (PERMISSION_DENIED otherwise).
   */
  'source': (_pbk_v1_SourceRef__Output | null);
  'mode': (_pbk_v1_BackupMode__Output);
  /**
   * The command that asked for this run; empty when the agent's own
   * schedule or file watcher started it.
   */
  'commandId': (Buffer);
  /**
   * Resume an interrupted run (agent restart, coordinator restart): the
   * coordinator returns the same run and DEK if the run is still open, or
   * FAILED_PRECONDITION if it is not (start a new one).
   */
  'resumeRunId': (Buffer);
  /**
   * Opens the source's WAL run instead of a snapshot run (PostgreSQL only):
   * it is never committed; PutWal records what its blobs hold. It stays open
   * while the agent uses it and is resumed like any run.
   */
  'walStream': (boolean);
}
