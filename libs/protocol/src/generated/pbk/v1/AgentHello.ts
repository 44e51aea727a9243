// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';

/**
 * First message on every Control stream, also after a reconnect.
 */
export interface AgentHello {
  'agentVersion'?: (string);
  /**
   * Sources configured on the agent.
   */
  'sources'?: (_pbk_v1_SourceRef)[];
  /**
   * Commands still running from before a reconnect, so the coordinator
   * re-attaches them instead of starting them again.
   */
  'runningCommandIds'?: (Buffer | Uint8Array | string)[];
}

/**
 * First message on every Control stream, also after a reconnect.
 */
export interface AgentHello__Output {
  'agentVersion': (string);
  /**
   * Sources configured on the agent.
   */
  'sources': (_pbk_v1_SourceRef__Output)[];
  /**
   * Commands still running from before a reconnect, so the coordinator
   * re-attaches them instead of starting them again.
   */
  'runningCommandIds': (Buffer)[];
}
