/**
 * The postgres source's part of the agent config (docs/agent-config.md).
 * The interface is the contract between the WAL streamer (postgres/wal/) and
 * the rest of the source (postgres/); compilePostgresSource fills it with
 * defaults and reports every problem with its field.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CronSchedule } from '../schedule/cron.js';
import { absolutePath, boolean, cronField, integer, isRecord, secretField, text, unknownFields, type Problems, type SecretRef } from './fields.js';

const GiB = 1024 ** 3;

export const POSTGRES_DEFAULTS = {
  /** The local server over its socket directory (Debian's); set host for a TCP address. */
  host: '/var/run/postgresql',
  port: 5432,
  user: 'postgres',
  /** Always exists; the agent only runs catalog queries here (slot, version, database list). */
  database: 'postgres',
  /** Weekly full base backup, Sundays 02:00 UTC: WAL makes every point in between recoverable, dedup keeps the weekly full cheap. */
  baseSchedule: '0 2 * * 0',
  /** Daily logical dump, 02:00 UTC: portable restores and content checks; a day's loss is acceptable for a dump (PITR covers the rest). */
  logicalSchedule: '0 2 * * *',
  /** pg_dump -j / pg_restore -j: two workers, as the agent shares the host with the database it backs up. */
  jobs: 2,
  /** PostgreSQL refuses to run as root and wants its data directory owned by its own user. */
  osUser: 'postgres',
  walEnabled: true,
  /** A day of moderate WAL; past it the spool alerts and stops keeping completed segments locally. */
  spoolLimitBytes: GiB,
  /** WAL held back by the slot beyond this is a coordinator outage worth an alert before the disk fills. */
  slotAlertBytes: GiB,
} as const;

const FIELDS = [
  'name', 'kind', 'host', 'port', 'user', 'database', 'password', 'passwordFile', 'passwordEnv', 'sslmode', 'binDir', 'dataDirectory', 'osUser',
  'slot', 'wal', 'baseSchedule', 'logicalSchedule', 'databases', 'jobs', 'baseMaxRateBytes',
] as const;
const WAL_FIELDS = ['enabled', 'spoolDir', 'spoolLimitBytes', 'slotAlertBytes', 'recreateDroppedSlot'] as const;
const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

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
  /**
   * When the slot is dropped behind the agent's back: recreate it and carry on
   * streaming (true), or stop and report it as down until an operator acts
   * (false, the default: the WAL gap needs a new base backup either way, and a
   * silent recreate would hide it). Optional so the compiler may leave it out.
   */
  recreateDroppedSlot?: boolean;
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
  /** pg_basebackup --max-rate in bytes per second (keeps a base backup from saturating the server's disk); undefined for no limit. */
  baseMaxRateBytes?: number | undefined;
}

export interface PostgresCompileContext {
  /** Directory of the config file (relative passwordFile paths). */
  baseDir: string;
  /** The agent's state directory (default WAL spool). */
  stateDir: string;
}

/** The newest /usr/lib/postgresql/<major>/bin on this host (Debian's layout); undefined when none. */
export function findPgBinDir(root = '/usr/lib/postgresql'): string | undefined {
  let majors: number[] = [];
  try {
    majors = readdirSync(root).map(Number).filter((n) => Number.isInteger(n)).sort((a, b) => b - a);
  } catch {
    return undefined;
  }
  for (const m of majors) if (existsSync(join(root, String(m), 'bin', 'pg_basebackup'))) return join(root, String(m), 'bin');
  return undefined;
}

/** The default slot name: `pbk_<source>` folded to what PostgreSQL accepts ([a-z0-9_], 63 bytes). */
export function defaultSlotName(source: string): string {
  return `pbk_${source.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export function compilePostgresSource(s: Record<string, unknown>, name: string, field: string, problems: Problems, ctx: PostgresCompileContext = { baseDir: '/', stateDir: '' }): PostgresSourceConfig | undefined {
  const before = problems.list.length;
  const p = `${field}.`;
  unknownFields(s, FIELDS, p, problems);
  const host = text(s, 'host', p, POSTGRES_DEFAULTS.host, problems)!;
  const port = integer(s, 'port', p, POSTGRES_DEFAULTS.port, 1, 65535, problems);
  const user = text(s, 'user', p, POSTGRES_DEFAULTS.user, problems)!;
  const database = text(s, 'database', p, POSTGRES_DEFAULTS.database, problems)!;
  const password = secretField(s, 'password', p, ctx.baseDir, problems);
  const sslmode = text(s, 'sslmode', p, undefined, problems);
  if (sslmode !== undefined && !SSLMODES.includes(sslmode)) problems.add(`${p}sslmode`, `must be one of ${SSLMODES.join(', ')}`);
  const binDir = absolutePath(s, 'binDir', p, problems) ?? findPgBinDir();
  if (binDir === undefined) problems.add(`${p}binDir`, 'no PostgreSQL client programs found under /usr/lib/postgresql/*/bin: install postgresql-client or set binDir');
  const dataDirectory = absolutePath(s, 'dataDirectory', p, problems);
  const osUser = text(s, 'osUser', p, POSTGRES_DEFAULTS.osUser, problems)!;
  const slot = text(s, 'slot', p, defaultSlotName(name), problems)!;
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) problems.add(`${p}slot`, `${JSON.stringify(slot)} is not a valid slot name: 1-63 of a-z, 0-9, _`);
  let walRaw: Record<string, unknown> = {};
  if (s.wal !== undefined && s.wal !== null) {
    if (!isRecord(s.wal)) problems.add(`${p}wal`, `must be a mapping (${WAL_FIELDS.join(', ')})`);
    else walRaw = s.wal;
  }
  unknownFields(walRaw, WAL_FIELDS, `${p}wal.`, problems);
  const wal: PostgresWalConfig = {
    enabled: boolean(walRaw, 'enabled', `${p}wal.`, POSTGRES_DEFAULTS.walEnabled, problems),
    slot,
    spoolDir: absolutePath(walRaw, 'spoolDir', `${p}wal.`, problems) ?? join(ctx.stateDir || '/var/lib/pbk-agent', 'wal', name),
    spoolLimitBytes: integer(walRaw, 'spoolLimitBytes', `${p}wal.`, POSTGRES_DEFAULTS.spoolLimitBytes, 16 * 1024 * 1024, Number.MAX_SAFE_INTEGER, problems),
    slotAlertBytes: integer(walRaw, 'slotAlertBytes', `${p}wal.`, POSTGRES_DEFAULTS.slotAlertBytes, 16 * 1024 * 1024, Number.MAX_SAFE_INTEGER, problems),
    // Off: a dropped slot means lost WAL; recreating it silently would hide the gap (the streamer reports it instead).
    recreateDroppedSlot: boolean(walRaw, 'recreateDroppedSlot', `${p}wal.`, false, problems),
  };
  const baseSchedule = cronField(s, 'baseSchedule', p, POSTGRES_DEFAULTS.baseSchedule, problems);
  const logicalSchedule = cronField(s, 'logicalSchedule', p, POSTGRES_DEFAULTS.logicalSchedule, problems);
  let logicalDatabases: string[] | undefined;
  if (s.databases !== undefined && s.databases !== null) {
    if (!Array.isArray(s.databases) || s.databases.length === 0 || !s.databases.every((d) => typeof d === 'string' && d !== '' && !d.includes('\0'))) {
      problems.add(`${p}databases`, 'must be a non-empty list of database names (leave it out for every database)');
    } else logicalDatabases = [...new Set(s.databases as string[])];
  }
  const jobs = integer(s, 'jobs', p, POSTGRES_DEFAULTS.jobs, 1, 64, problems);
  // pg_basebackup accepts 32 kB/s to 1 GB/s.
  const rate = s.baseMaxRateBytes === undefined || s.baseMaxRateBytes === null ? undefined : integer(s, 'baseMaxRateBytes', p, 0, 32 * 1024, 1024 ** 3, problems);
  if (problems.list.length > before) return undefined;
  return {
    name,
    kind: 'postgres',
    connection: { host, port, user, database, password, sslmode },
    binDir: binDir!,
    dataDirectory,
    osUser,
    wal,
    baseSchedule,
    logicalSchedule,
    logicalDatabases,
    jobs,
    baseMaxRateBytes: rate,
  };
}

/** What `pbk-agent check-config` prints for this source (defaults applied, next schedule times; never secrets). */
export function describePostgresSource(c: PostgresSourceConfig, now: number): Record<string, unknown> {
  const pw = c.connection.password;
  const next = (sch: CronSchedule | undefined): string | null => {
    const t = sch?.next(now);
    return t === undefined ? null : new Date(t).toISOString();
  };
  return {
    name: c.name,
    kind: c.kind,
    connection: { host: c.connection.host, port: c.connection.port, user: c.connection.user, database: c.connection.database, sslmode: c.connection.sslmode ?? 'libpq default', password: pw === undefined ? 'none' : 'file' in pw ? `file ${pw.file}` : `env ${pw.env}` },
    binDir: c.binDir,
    dataDirectory: c.dataDirectory ?? null,
    osUser: c.osUser,
    wal: { enabled: c.wal.enabled, slot: c.wal.slot, spoolDir: c.wal.spoolDir, spoolLimitBytes: c.wal.spoolLimitBytes, slotAlertBytes: c.wal.slotAlertBytes },
    baseSchedule: c.baseSchedule?.text ?? null,
    nextBase: next(c.baseSchedule),
    logicalSchedule: c.logicalSchedule?.text ?? null,
    nextLogical: next(c.logicalSchedule),
    databases: c.logicalDatabases ?? 'all that allow connections',
    jobs: c.jobs,
    baseMaxRateBytes: c.baseMaxRateBytes ?? 'unlimited',
  };
}
