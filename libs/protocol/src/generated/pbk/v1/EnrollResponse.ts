// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface EnrollResponse {
  /**
   * The agent's client certificate (role agent, this host), PEM.
   */
  'certPem'?: (string);
  /**
   * The coordinator's CA certificate, PEM: the only root the agent trusts.
   */
  'caPem'?: (string);
  'host'?: (string);
  'notAfterUnixMs'?: (number | string | Long);
}

export interface EnrollResponse__Output {
  /**
   * The agent's client certificate (role agent, this host), PEM.
   */
  'certPem': (string);
  /**
   * The coordinator's CA certificate, PEM: the only root the agent trusts.
   */
  'caPem': (string);
  'host': (string);
  'notAfterUnixMs': (string);
}
