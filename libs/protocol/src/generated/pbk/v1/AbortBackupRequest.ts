// Original file: ../../protos/pbk/v1/agent.proto

import type { Failure as _pbk_v1_Failure, Failure__Output as _pbk_v1_Failure__Output } from '../../pbk/v1/Failure.js';

export interface AbortBackupRequest {
  'runId'?: (Buffer | Uint8Array | string);
  'failure'?: (_pbk_v1_Failure | null);
}

export interface AbortBackupRequest__Output {
  'runId': (Buffer);
  'failure': (_pbk_v1_Failure__Output | null);
}
