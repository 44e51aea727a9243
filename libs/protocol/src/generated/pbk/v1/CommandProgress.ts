// Original file: ../../protos/pbk/v1/agent.proto

import type { Progress as _pbk_v1_Progress, Progress__Output as _pbk_v1_Progress__Output } from '../../pbk/v1/Progress.js';

export interface CommandProgress {
  'commandId'?: (Buffer | Uint8Array | string);
  'progress'?: (_pbk_v1_Progress | null);
}

export interface CommandProgress__Output {
  'commandId': (Buffer);
  'progress': (_pbk_v1_Progress__Output | null);
}
