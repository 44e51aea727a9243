// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface WalFile {
  'fileName'?: (string);
  'size'?: (number | string | Long);
  'complete'?: (boolean);
  /**
   * When the coordinator last recorded it (for RPO).
   */
  'updatedUnixMs'?: (number | string | Long);
  'sha256'?: (Buffer | Uint8Array | string);
}

export interface WalFile__Output {
  'fileName': (string);
  'size': (string);
  'complete': (boolean);
  /**
   * When the coordinator last recorded it (for RPO).
   */
  'updatedUnixMs': (string);
  'sha256': (Buffer);
}
