// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { BackupMode as _pbk_v1_BackupMode, BackupMode__Output as _pbk_v1_BackupMode__Output } from '../../pbk/v1/BackupMode.js';

export interface BackupCommand {
  'source'?: (_pbk_v1_SourceRef | null);
  'mode'?: (_pbk_v1_BackupMode);
}

export interface BackupCommand__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  'mode': (_pbk_v1_BackupMode__Output);
}
