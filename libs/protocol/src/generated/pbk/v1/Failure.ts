// Original file: ../../protos/pbk/v1/common.proto


/**
 * A failure carried inside a message (not as the RPC's status).
 */
export interface Failure {
  /**
   * One of the pbk error codes (libs/protocol/src/errors.ts), e.g. "NOT_FOUND".
   */
  'code'?: (string);
  /**
   * What went wrong and what to do, for an operator.
   */
  'message'?: (string);
}

/**
 * A failure carried inside a message (not as the RPC's status).
 */
export interface Failure__Output {
  /**
   * One of the pbk error codes (libs/protocol/src/errors.ts), e.g. "NOT_FOUND".
   */
  'code': (string);
  /**
   * What went wrong and what to do, for an operator.
   */
  'message': (string);
}
