// Original file: ../../protos/pbk/v1/agent.proto

import type { BackupCommand as _pbk_v1_BackupCommand, BackupCommand__Output as _pbk_v1_BackupCommand__Output } from '../../pbk/v1/BackupCommand.js';
import type { RestoreCommand as _pbk_v1_RestoreCommand, RestoreCommand__Output as _pbk_v1_RestoreCommand__Output } from '../../pbk/v1/RestoreCommand.js';
import type { ValidateCommand as _pbk_v1_ValidateCommand, ValidateCommand__Output as _pbk_v1_ValidateCommand__Output } from '../../pbk/v1/ValidateCommand.js';
import type { Long } from '@grpc/proto-loader';

export interface Command {
  'commandId'?: (Buffer | Uint8Array | string);
  /**
   * When the agent should give up with DEADLINE_EXCEEDED; 0 for none.
   */
  'deadlineUnixMs'?: (number | string | Long);
  'backup'?: (_pbk_v1_BackupCommand | null);
  'restore'?: (_pbk_v1_RestoreCommand | null);
  'validate'?: (_pbk_v1_ValidateCommand | null);
  'action'?: "backup"|"restore"|"validate";
}

export interface Command__Output {
  'commandId': (Buffer);
  /**
   * When the agent should give up with DEADLINE_EXCEEDED; 0 for none.
   */
  'deadlineUnixMs': (string);
  'backup'?: (_pbk_v1_BackupCommand__Output | null);
  'restore'?: (_pbk_v1_RestoreCommand__Output | null);
  'validate'?: (_pbk_v1_ValidateCommand__Output | null);
  'action'?: "backup"|"restore"|"validate";
}
