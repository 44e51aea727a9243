// Original file: ../../protos/pbk/v1/common.proto


export interface RedisRestoreOptions {
  /**
   * Write the RDB to this absolute file path (refused if it exists, unless force).
   */
  'toFile'?: (string);
  /**
   * Or restore into the data directory of a STOPPED Redis instance (HOST:PORT
   * as configured on the agent); the agent refuses while it answers PING.
   */
  'into'?: (string);
  'force'?: (boolean);
}

export interface RedisRestoreOptions__Output {
  /**
   * Write the RDB to this absolute file path (refused if it exists, unless force).
   */
  'toFile': (string);
  /**
   * Or restore into the data directory of a STOPPED Redis instance (HOST:PORT
   * as configured on the agent); the agent refuses while it answers PING.
   */
  'into': (string);
  'force': (boolean);
}
