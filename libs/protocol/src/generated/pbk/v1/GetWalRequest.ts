// Original file: ../../protos/pbk/v1/agent.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';

export interface GetWalRequest {
  /**
   * The source whose WAL is fetched (one of the caller's; an operator-chosen
   * target host restoring another host's backup is granted by the restore).
   */
  'source'?: (_pbk_v1_SourceRef | null);
  'fileName'?: (string);
  /**
   * Also answer with a segment that is not complete (the newest `.partial`),
   * for recovery to the very end of the stream. Default: complete files only.
   */
  'allowPartial'?: (boolean);
}

export interface GetWalRequest__Output {
  /**
   * The source whose WAL is fetched (one of the caller's; an operator-chosen
   * target host restoring another host's backup is granted by the restore).
   */
  'source': (_pbk_v1_SourceRef__Output | null);
  'fileName': (string);
  /**
   * Also answer with a segment that is not complete (the newest `.partial`),
   * for recovery to the very end of the stream. Default: complete files only.
   */
  'allowPartial': (boolean);
}
