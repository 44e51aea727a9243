// Original file: ../../protos/pbk/v1/operator.proto


export interface VerifyProblem {
  /**
   * pbk error code: CORRUPT, NOT_FOUND (missing blob), INTEGRITY.
   */
  'code'?: (string);
  /**
   * The damaged object (pack, blob, snapshot id, hex) and what refers to it.
   */
  'object'?: (string);
  'message'?: (string);
}

export interface VerifyProblem__Output {
  /**
   * pbk error code: CORRUPT, NOT_FOUND (missing blob), INTEGRITY.
   */
  'code': (string);
  /**
   * The damaged object (pack, blob, snapshot id, hex) and what refers to it.
   */
  'object': (string);
  'message': (string);
}
