// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceHealth as _pbk_v1_SourceHealth, SourceHealth__Output as _pbk_v1_SourceHealth__Output } from '../../pbk/v1/SourceHealth.js';
import type { Long } from '@grpc/proto-loader';

export interface HeartbeatRequest {
  'agentVersion'?: (string);
  /**
   * The agent's clock, to spot skew.
   */
  'agentTimeUnixMs'?: (number | string | Long);
  'sources'?: (_pbk_v1_SourceHealth)[];
}

export interface HeartbeatRequest__Output {
  'agentVersion': (string);
  /**
   * The agent's clock, to spot skew.
   */
  'agentTimeUnixMs': (string);
  'sources': (_pbk_v1_SourceHealth__Output)[];
}
