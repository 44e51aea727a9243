// Original file: ../../protos/pbk/v1/operator.proto

import type { Long } from '@grpc/proto-loader';

/**
 * First message of every job stream.
 */
export interface JobAccepted {
  'acceptedUnixMs'?: (number | string | Long);
  /**
   * The host whose agent runs the job.
   */
  'host'?: (string);
}

/**
 * First message of every job stream.
 */
export interface JobAccepted__Output {
  'acceptedUnixMs': (string);
  /**
   * The host whose agent runs the job.
   */
  'host': (string);
}
