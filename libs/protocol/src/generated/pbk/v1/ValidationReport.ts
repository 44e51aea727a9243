// Original file: ../../protos/pbk/v1/common.proto

import type { ValidationCheck as _pbk_v1_ValidationCheck, ValidationCheck__Output as _pbk_v1_ValidationCheck__Output } from '../../pbk/v1/ValidationCheck.js';
import type { Long } from '@grpc/proto-loader';

export interface ValidationReport {
  /**
   * True when every check passed.
   */
  'ok'?: (boolean);
  'checks'?: (_pbk_v1_ValidationCheck)[];
  'durationMs'?: (number | string | Long);
}

export interface ValidationReport__Output {
  /**
   * True when every check passed.
   */
  'ok': (boolean);
  'checks': (_pbk_v1_ValidationCheck__Output)[];
  'durationMs': (string);
}
