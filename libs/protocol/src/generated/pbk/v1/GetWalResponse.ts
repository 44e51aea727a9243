// Original file: ../../protos/pbk/v1/agent.proto

import type { WalFile as _pbk_v1_WalFile, WalFile__Output as _pbk_v1_WalFile__Output } from '../../pbk/v1/WalFile.js';
import type { DownloadBlobsResponse as _pbk_v1_DownloadBlobsResponse, DownloadBlobsResponse__Output as _pbk_v1_DownloadBlobsResponse__Output } from '../../pbk/v1/DownloadBlobsResponse.js';

export interface GetWalResponse {
  /**
   * Set on the first message: what is being sent.
   */
  'file'?: (_pbk_v1_WalFile | null);
  /**
   * The file's blobs, in order, as DownloadBlobs sends them (keys and id_key
   * on the first message that needs them).
   */
  'blobs'?: (_pbk_v1_DownloadBlobsResponse | null);
}

export interface GetWalResponse__Output {
  /**
   * Set on the first message: what is being sent.
   */
  'file': (_pbk_v1_WalFile__Output | null);
  /**
   * The file's blobs, in order, as DownloadBlobs sends them (keys and id_key
   * on the first message that needs them).
   */
  'blobs': (_pbk_v1_DownloadBlobsResponse__Output | null);
}
