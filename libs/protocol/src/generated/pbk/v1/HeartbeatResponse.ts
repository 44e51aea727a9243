// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatResponse {
  'serverTimeUnixMs'?: (number | string | Long);
  /**
   * When to send the next heartbeat.
   */
  'heartbeatIntervalMs'?: (number | string | Long);
}

export interface HeartbeatResponse__Output {
  'serverTimeUnixMs': (string);
  /**
   * When to send the next heartbeat.
   */
  'heartbeatIntervalMs': (string);
}
