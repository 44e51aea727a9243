/**
 * The postgres source's part of the agent config (docs/agent-config.md).
 * The interface is the contract between the WAL streamer (postgres/wal/) and
 * the rest of the source (postgres/); compilePostgresSource fills it with
 * defaults and reports every problem with its field.
 *
 * Not built yet: compilePostgresSource refuses postgres sources.
 */
import type { CronSchedule } from '../schedule/cron.js';
import type { Problems, SecretRef } from './fields.js';

export interface PostgresConnection {
  /** Host name, IP, or an absolute socket directory. */
  host: string;
  port: number;
  /** A role with REPLICATION (WAL streaming, base backups) and read access (pg_dump). */
  user: string;
  /** The database to connect to for queries (slot management, version, database list). */
  database: string;
  /** Password: from a file or an environment variable, never argv (passed to children as PGPASSWORD in their env only). */
  password: SecretRef;
  /** libpq sslmode (disable, prefer, require, verify-ca, verify-full); undefined for libpq's default. */
  sslmode: string | undefined;
}

export interface PostgresWalConfig {
  /** Stream WAL with pg_receivewal (default true). */
  enabled: boolean;
  /** Physical replication slot, created if missing (default `pbk_<source name>`, lowercased, [a-z0-9_]). */
  slot: string;
  /** Where pg_receivewal writes and the agent spools while the coordinator is away (default <state>/wal/<source name>). */
  spoolDir: string;
  /** Spool size that raises an alert and, past it, stops keeping completed segments locally (default 1 GiB). */
  spoolLimitBytes: number;
  /** Retained WAL behind the slot that raises an alert (default 1 GiB). */
  slotAlertBytes: number;
}

export interface PostgresSourceConfig {
  name: string;
  kind: 'postgres';
  connection: PostgresConnection;
  /** Directory of the PostgreSQL programs (pg_basebackup, pg_receivewal, pg_dump, ...); default /usr/lib/postgresql/<major>/bin found on the host. */
  binDir: string;
  /** The cluster's data directory on this host, when the agent runs beside it (checks, restore ownership); optional. */
  dataDirectory: string | undefined;
  /**
   * OS user that owns restored data directories and runs restored servers and
   * PostgreSQL programs when the agent runs as root (default postgres).
   */
  osUser: string;
  wal: PostgresWalConfig;
  /** Full base backups (cron, UTC; default Sundays 02:00); undefined when off. */
  baseSchedule: CronSchedule | undefined;
  /** Logical dumps (cron, UTC; default daily 02:00); undefined when off. */
  logicalSchedule: CronSchedule | undefined;
  /** Databases pg_dump dumps (default: every database that allows connections, except templates). */
  logicalDatabases: readonly string[] | undefined;
  /** pg_dump -j / pg_restore -j (default 2). */
  jobs: number;
}

export function compilePostgresSource(_s: Record<string, unknown>, _name: string, field: string, problems: Problems): PostgresSourceConfig | undefined {
  problems.add(`${field}.kind`, 'postgres sources are not supported by this agent version yet');
  return undefined;
}

/** What `pbk-agent check-config` prints for this source (defaults applied, next schedule times; never secrets). */
export function describePostgresSource(c: PostgresSourceConfig, _now: number): Record<string, unknown> {
  return { name: c.name, kind: c.kind };
}
