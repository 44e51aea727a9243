// Original file: ../../protos/pbk/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface PostgresRestoreOptions {
  /**
   * Absolute, empty (or force) directory on the target host: the new data directory.
   */
  'targetDir'?: (string);
  'force'?: (boolean);
  'timeUnixMs'?: (number | string | Long);
  /**
   * pg_lsn text, e.g. "0/3000148".
   */
  'lsn'?: (string);
  /**
   * Transaction id (decimal).
   */
  'xid'?: (string);
  /**
   * A restore point made with pg_create_restore_point().
   */
  'name'?: (string);
  /**
   * Start the restored server, wait until it is consistent and promoted, and
   * run the checks (connections, pg_amcheck). Otherwise the directory is left
   * ready to start.
   */
  'start'?: (boolean);
  /**
   * Port for the started server; 0 picks a free one.
   */
  'port'?: (number);
  /**
   * recovery_target_inclusive; the default (false here, i.e. unset) means
   * inclusive, as PostgreSQL's own default.
   */
  'exclusive'?: (boolean);
  /**
   * Where tablespaces outside the data directory go, by tablespace name or
   * OID: an absolute directory on the target host, missing or empty. A
   * tablespace not named here goes under tablespace_map_all/<name> when that
   * is set, else back to where it was when backed up (which must be missing
   * or empty: the source cluster may still use it). pg_tblspc/<oid> in the
   * new data directory links to it.
   */
  'tablespaceMap'?: ({[key: string]: string});
  'tablespaceMapAll'?: (string);
  /**
   * The recovery target. Unset means latest: replay every WAL file the
   * archive has (recovery_target unset, ends at the end of the archive).
   */
  'target'?: "timeUnixMs"|"lsn"|"xid"|"name";
}

export interface PostgresRestoreOptions__Output {
  /**
   * Absolute, empty (or force) directory on the target host: the new data directory.
   */
  'targetDir': (string);
  'force': (boolean);
  'timeUnixMs'?: (string);
  /**
   * pg_lsn text, e.g. "0/3000148".
   */
  'lsn'?: (string);
  /**
   * Transaction id (decimal).
   */
  'xid'?: (string);
  /**
   * A restore point made with pg_create_restore_point().
   */
  'name'?: (string);
  /**
   * Start the restored server, wait until it is consistent and promoted, and
   * run the checks (connections, pg_amcheck). Otherwise the directory is left
   * ready to start.
   */
  'start': (boolean);
  /**
   * Port for the started server; 0 picks a free one.
   */
  'port': (number);
  /**
   * recovery_target_inclusive; the default (false here, i.e. unset) means
   * inclusive, as PostgreSQL's own default.
   */
  'exclusive': (boolean);
  /**
   * Where tablespaces outside the data directory go, by tablespace name or
   * OID: an absolute directory on the target host, missing or empty. A
   * tablespace not named here goes under tablespace_map_all/<name> when that
   * is set, else back to where it was when backed up (which must be missing
   * or empty: the source cluster may still use it). pg_tblspc/<oid> in the
   * new data directory links to it.
   */
  'tablespaceMap': ({[key: string]: string});
  'tablespaceMapAll': (string);
  /**
   * The recovery target. Unset means latest: replay every WAL file the
   * archive has (recovery_target unset, ends at the end of the archive).
   */
  'target'?: "timeUnixMs"|"lsn"|"xid"|"name";
}
