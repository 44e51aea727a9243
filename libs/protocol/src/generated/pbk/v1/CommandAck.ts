// Original file: ../../protos/pbk/v1/agent.proto

import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from '../../pbk/v1/Failure.js';

export interface CommandAck {
  'commandId'?: (Buffer | Uint8Array | string);
  'accepted'?: (boolean);
  /**
   * Why not, when accepted is false.
   */
  'failure'?: (_pbk_v1_Failure | null);
}

export interface CommandAck__Output {
  'commandId': (Buffer);
  'accepted': (boolean);
  /**
   * Why not, when accepted is false.
   */
  'failure': (_pbk_v1_Failure__Output | null);
}
