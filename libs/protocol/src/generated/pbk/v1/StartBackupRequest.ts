// Original file: ../../protos/pbk/v1/operator.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { BackupMode as _pbk_v1_BackupMode, BackupMode__Output as _pbk_v1_BackupMode__Output } from '../../pbk/v1/BackupMode.js';

export interface StartBackupRequest {
  /**
   * host and name are required; kind may be left unspecified.
   */
  'source'?: (_pbk_v1_SourceRef | null);
  'mode'?: (_pbk_v1_BackupMode);
  /**
   * Follow the run until it commits (or fails) instead of returning once accepted.
   */
  'wait'?: (boolean);
  /**
   * The source's snapshot series, forwarded as BackupCommand.variant
   * (PostgreSQL: "base" by default, or "logical"); empty for the default.
   */
  'variant'?: (string);
}

export interface StartBackupRequest__Output {
  /**
   * host and name are required; kind may be left unspecified.
   */
  'source': (_pbk_v1_SourceRef__Output | null);
  'mode': (_pbk_v1_BackupMode__Output);
  /**
   * Follow the run until it commits (or fails) instead of returning once accepted.
   */
  'wait': (boolean);
  /**
   * The source's snapshot series, forwarded as BackupCommand.variant
   * (PostgreSQL: "base" by default, or "logical"); empty for the default.
   */
  'variant': (string);
}
