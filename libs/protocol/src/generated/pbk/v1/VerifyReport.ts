// Original file: ../../protos/pbk/v1/operator.proto

import type { VerifyProblem as _pbk_v1_VerifyProblem, VerifyProblem__Output as _pbk_v1_VerifyProblem__Output } from '../../pbk/v1/VerifyProblem.js';
import type { Long } from '@grpc/proto-loader';

export interface VerifyReport {
  /**
   * True when no problem was found.
   */
  'ok'?: (boolean);
  'snapshotsChecked'?: (number | string | Long);
  'packsChecked'?: (number | string | Long);
  'blobsChecked'?: (number | string | Long);
  'bytesRead'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  'problems'?: (_pbk_v1_VerifyProblem)[];
}

export interface VerifyReport__Output {
  /**
   * True when no problem was found.
   */
  'ok': (boolean);
  'snapshotsChecked': (string);
  'packsChecked': (string);
  'blobsChecked': (string);
  'bytesRead': (string);
  'durationMs': (string);
  'problems': (_pbk_v1_VerifyProblem__Output)[];
}
