// Original file: ../../protos/pbk/v1/agent.proto

import type { WalFile as _pbk_v1_WalFile, WalFile__Output as _pbk_v1_WalFile__Output } from '../../pbk/v1/WalFile.js';

export interface ListWalResponse {
  'files'?: (_pbk_v1_WalFile)[];
  /**
   * Set when there are more: pass as from_file_name (exclusive of nothing; it is the next name).
   */
  'nextFileName'?: (string);
}

export interface ListWalResponse__Output {
  'files': (_pbk_v1_WalFile__Output)[];
  /**
   * Set when there are more: pass as from_file_name (exclusive of nothing; it is the next name).
   */
  'nextFileName': (string);
}
