// Original file: ../../protos/pbk/v1/agent.proto

import type { AgentHello as _pbk_v1_AgentHello, AgentHello__Output as _pbk_v1_AgentHello__Output } from '../../pbk/v1/AgentHello.js';
import type { CommandAck as _pbk_v1_CommandAck, CommandAck__Output as _pbk_v1_CommandAck__Output } from '../../pbk/v1/CommandAck.js';
import type { CommandProgress as _pbk_v1_CommandProgress, CommandProgress__Output as _pbk_v1_CommandProgress__Output } from '../../pbk/v1/CommandProgress.js';
import type { CommandResult as _pbk_v1_CommandResult, CommandResult__Output as _pbk_v1_CommandResult__Output } from '../../pbk/v1/CommandResult.js';

export interface AgentMessage {
  'hello'?: (_pbk_v1_AgentHello | null);
  'ack'?: (_pbk_v1_CommandAck | null);
  'progress'?: (_pbk_v1_CommandProgress | null);
  'result'?: (_pbk_v1_CommandResult | null);
  'msg'?: "hello"|"ack"|"progress"|"result";
}

export interface AgentMessage__Output {
  'hello'?: (_pbk_v1_AgentHello__Output | null);
  'ack'?: (_pbk_v1_CommandAck__Output | null);
  'progress'?: (_pbk_v1_CommandProgress__Output | null);
  'result'?: (_pbk_v1_CommandResult__Output | null);
  'msg'?: "hello"|"ack"|"progress"|"result";
}
