// Original file: ../../protos/pbk/v1/agent.proto

import type { Command as _pbk_v1_Command, Command__Output as _pbk_v1_Command__Output } from '../../pbk/v1/Command.js';
import type { CancelCommand as _pbk_v1_CancelCommand, CancelCommand__Output as _pbk_v1_CancelCommand__Output } from '../../pbk/v1/CancelCommand.js';

export interface CoordinatorMessage {
  'command'?: (_pbk_v1_Command | null);
  'cancel'?: (_pbk_v1_CancelCommand | null);
  'msg'?: "command"|"cancel";
}

export interface CoordinatorMessage__Output {
  'command'?: (_pbk_v1_Command__Output | null);
  'cancel'?: (_pbk_v1_CancelCommand__Output | null);
  'msg'?: "command"|"cancel";
}
