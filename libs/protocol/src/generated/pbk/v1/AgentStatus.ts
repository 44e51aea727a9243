// Original file: ../../protos/pbk/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentStatus {
  'host'?: (string);
  'agentVersion'?: (string);
  /**
   * Whether a Control stream is open right now.
   */
  'connected'?: (boolean);
  'lastHeartbeatUnixMs'?: (number | string | Long);
  /**
   * When the agent's certificate expires.
   */
  'certNotAfterUnixMs'?: (number | string | Long);
}

export interface AgentStatus__Output {
  'host': (string);
  'agentVersion': (string);
  /**
   * Whether a Control stream is open right now.
   */
  'connected': (boolean);
  'lastHeartbeatUnixMs': (string);
  /**
   * When the agent's certificate expires.
   */
  'certNotAfterUnixMs': (string);
}
