// Original file: ../../protos/pbk/v1/agent.proto

import type { BlobPart as _pbk_v1_BlobPart, BlobPart__Output as _pbk_v1_BlobPart__Output } from '../../pbk/v1/BlobPart.js';
import type { DataKey as _pbk_v1_DataKey, DataKey__Output as _pbk_v1_DataKey__Output } from '../../pbk/v1/DataKey.js';

export interface DownloadBlobsResponse {
  /**
   * Parts of one or more blobs, ~1 MiB per message in total.
   */
  'parts'?: (_pbk_v1_BlobPart)[];
  /**
   * DEKs needed by blobs in this message that were not sent earlier on
   * this stream (each key at most once per stream).
   */
  'keys'?: (_pbk_v1_DataKey)[];
  /**
   * The repository id-key (HMAC key of blob ids), set on the first message of
   * every stream, so an agent that has not backed up since it started (a fresh
   * host, a --target-host restore) can still check every blob against its id.
   */
  'idKey'?: (Buffer | Uint8Array | string);
}

export interface DownloadBlobsResponse__Output {
  /**
   * Parts of one or more blobs, ~1 MiB per message in total.
   */
  'parts': (_pbk_v1_BlobPart__Output)[];
  /**
   * DEKs needed by blobs in this message that were not sent earlier on
   * this stream (each key at most once per stream).
   */
  'keys': (_pbk_v1_DataKey__Output)[];
  /**
   * The repository id-key (HMAC key of blob ids), set on the first message of
   * every stream, so an agent that has not backed up since it started (a fresh
   * host, a --target-host restore) can still check every blob against its id.
   */
  'idKey': (Buffer);
}
