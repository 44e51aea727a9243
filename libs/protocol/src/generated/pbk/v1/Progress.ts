// Original file: ../../protos/pbk/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Progress of a long-running job, for bars (bytes, rate, ETA) and logs.
 */
export interface Progress {
  /**
   * What is happening: "scanning", "uploading", "committing", "restoring", "verifying".
   */
  'phase'?: (string);
  'bytesDone'?: (number | string | Long);
  /**
   * 0 while unknown.
   */
  'bytesTotal'?: (number | string | Long);
  /**
   * Files, blobs or packs depending on the phase.
   */
  'itemsDone'?: (number | string | Long);
  /**
   * 0 while unknown.
   */
  'itemsTotal'?: (number | string | Long);
  /**
   * The path or object being worked on; for display only.
   */
  'current'?: (string);
  'elapsedMs'?: (number | string | Long);
}

/**
 * Progress of a long-running job, for bars (bytes, rate, ETA) and logs.
 */
export interface Progress__Output {
  /**
   * What is happening: "scanning", "uploading", "committing", "restoring", "verifying".
   */
  'phase': (string);
  'bytesDone': (string);
  /**
   * 0 while unknown.
   */
  'bytesTotal': (string);
  /**
   * Files, blobs or packs depending on the phase.
   */
  'itemsDone': (string);
  /**
   * 0 while unknown.
   */
  'itemsTotal': (string);
  /**
   * The path or object being worked on; for display only.
   */
  'current': (string);
  'elapsedMs': (string);
}
