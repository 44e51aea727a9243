// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface PutWalRequest {
  /**
   * The source's open WAL run (BeginBackup with wal_stream).
   */
  'runId'?: (Buffer | Uint8Array | string);
  /**
   * The WAL file name as PostgreSQL names it: 24 hex digits for a segment
   * (TTTTTTTTXXXXXXXXYYYYYYYY), or TTTTTTTT.history. Never `.partial`:
   * `complete` says whether the segment is whole.
   */
  'fileName'?: (string);
  /**
   * Bytes of the file recorded so far (a segment is complete at the
   * cluster's wal_segment_size).
   */
  'size'?: (number | string | Long);
  /**
   * Data blob ids whose plaintexts, concatenated, are bytes [0, size) of the file.
   */
  'content'?: (Buffer | Uint8Array | string)[];
  /**
   * True when the file is whole and will not change again.
   */
  'complete'?: (boolean);
  /**
   * SHA-256 of bytes [0, size): the coordinator compares it on repeats.
   */
  'sha256'?: (Buffer | Uint8Array | string);
}

export interface PutWalRequest__Output {
  /**
   * The source's open WAL run (BeginBackup with wal_stream).
   */
  'runId': (Buffer);
  /**
   * The WAL file name as PostgreSQL names it: 24 hex digits for a segment
   * (TTTTTTTTXXXXXXXXYYYYYYYY), or TTTTTTTT.history. Never `.partial`:
   * `complete` says whether the segment is whole.
   */
  'fileName': (string);
  /**
   * Bytes of the file recorded so far (a segment is complete at the
   * cluster's wal_segment_size).
   */
  'size': (string);
  /**
   * Data blob ids whose plaintexts, concatenated, are bytes [0, size) of the file.
   */
  'content': (Buffer)[];
  /**
   * True when the file is whole and will not change again.
   */
  'complete': (boolean);
  /**
   * SHA-256 of bytes [0, size): the coordinator compares it on repeats.
   */
  'sha256': (Buffer);
}
