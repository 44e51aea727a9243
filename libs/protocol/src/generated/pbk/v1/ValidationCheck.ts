// Original file: ../../protos/pbk/v1/common.proto


/**
 * One check of a validation, in the order run.
 */
export interface ValidationCheck {
  /**
   * Short name: "redis-check-rdb", "load", "key-counts", "pg_amcheck", ...
   */
  'name'?: (string);
  'ok'?: (boolean);
  /**
   * What was found, for an operator (expected vs. actual counts, tool output tail).
   */
  'detail'?: (string);
}

/**
 * One check of a validation, in the order run.
 */
export interface ValidationCheck__Output {
  /**
   * Short name: "redis-check-rdb", "load", "key-counts", "pg_amcheck", ...
   */
  'name': (string);
  'ok': (boolean);
  /**
   * What was found, for an operator (expected vs. actual counts, tool output tail).
   */
  'detail': (string);
}
