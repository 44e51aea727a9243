// Original file: ../../protos/pbk/v1/common.proto


export interface PostgresLogicalRestoreOptions {
  /**
   * The database whose dump is restored (snapshots hold one dump per database).
   */
  'database'?: (string);
  /**
   * libpq connection string of the database to restore into, WITHOUT a
   * password: the target host's PGPASSFILE or .pgpass supplies it.
   */
  'into'?: (string);
  /**
   * pg_restore -j; 0 for the agent's default.
   */
  'jobs'?: (number);
  /**
   * pg_restore --clean --if-exists.
   */
  'clean'?: (boolean);
}

export interface PostgresLogicalRestoreOptions__Output {
  /**
   * The database whose dump is restored (snapshots hold one dump per database).
   */
  'database': (string);
  /**
   * libpq connection string of the database to restore into, WITHOUT a
   * password: the target host's PGPASSFILE or .pgpass supplies it.
   */
  'into': (string);
  /**
   * pg_restore -j; 0 for the agent's default.
   */
  'jobs': (number);
  /**
   * pg_restore --clean --if-exists.
   */
  'clean': (boolean);
}
