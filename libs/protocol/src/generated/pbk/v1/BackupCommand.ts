// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { BackupMode as _pbk_v1_BackupMode, BackupMode__Output as _pbk_v1_BackupMode__Output } from '../../pbk/v1/BackupMode.js';

export interface BackupCommand {
  'source'?: (_pbk_v1_SourceRef | null);
  'mode'?: (_pbk_v1_BackupMode);
  /**
   * Which of a source's snapshot series to run, for kinds with more than one
   * (PostgreSQL: "base", the default when empty, or "logical"). The snapshot
   * label `type` keeps the series apart in the catalog.
   */
  'variant'?: (string);
}

export interface BackupCommand__Output {
  'source': (_pbk_v1_SourceRef__Output | null);
  'mode': (_pbk_v1_BackupMode__Output);
  /**
   * Which of a source's snapshot series to run, for kinds with more than one
   * (PostgreSQL: "base", the default when empty, or "logical"). The snapshot
   * label `type` keeps the series apart in the catalog.
   */
  'variant': (string);
}
