/**
 * The catalog schema, as numbered migrations (one PostgreSQL dialect for both
 * engines, DESIGN decision 6).
 *
 * Rules: a released migration is never edited (its checksum is recorded and a
 * change is logged); new schema goes into a new, higher number. `migrate`
 * applies everything missing in ONE transaction, under an advisory lock so two
 * coordinators starting together (HA) cannot both migrate; a database whose
 * schema is newer than this code is refused, never written.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@pbk/storage';
import type { SqlDb } from './db.js';
import { CatalogError, SchemaTooNewError } from './errors.js';
import { iso, toNumber } from './values.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents',
    sql: `
      CREATE TABLE agents (
        host              text PRIMARY KEY,
        cert_serial       text NOT NULL UNIQUE,
        cert_fingerprint  text NOT NULL,
        cert_not_after    timestamptz NOT NULL,
        agent_version     text NOT NULL,
        enrolled_at       timestamptz NOT NULL,
        last_heartbeat_at timestamptz,
        revoked_at        timestamptz
      );
      -- Every certificate serial that must no longer be accepted: revoked agents,
      -- and the previous certificate of an agent that enrolled again.
      CREATE TABLE revoked_certs (
        cert_serial text PRIMARY KEY,
        host        text NOT NULL,
        revoked_at  timestamptz NOT NULL,
        reason      text NOT NULL CHECK (reason IN ('revoked', 'superseded'))
      );`,
  },
  {
    version: 2,
    name: 'enrollment_tokens',
    sql: `
      -- Only the SHA-256 of a token is stored: a copy of the catalog enrolls nobody.
      CREATE TABLE enrollment_tokens (
        token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
        host       text NOT NULL,
        issued_at  timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at    timestamptz,
        revoked_at timestamptz,
        CHECK (expires_at > issued_at)
      );
      CREATE INDEX enrollment_tokens_unused_by_host ON enrollment_tokens (host) WHERE used_at IS NULL;`,
  },
  {
    version: 3,
    name: 'backup_runs',
    sql: `
      CREATE TABLE backup_runs (
        id            uuid PRIMARY KEY,
        host          text NOT NULL,
        source_kind   text NOT NULL CHECK (source_kind IN ('files', 'postgres', 'redis')),
        source_name   text NOT NULL,
        mode          text NOT NULL CHECK (mode IN ('full', 'incremental')),
        dek_id        text NOT NULL,
        state         text NOT NULL CHECK (state IN ('running', 'committed', 'failed', 'abandoned')),
        started_at    timestamptz NOT NULL,
        finished_at   timestamptz,
        bytes_total   bigint,
        bytes_new     bigint,
        files         bigint,
        snapshot_id   text,
        error_code    text,
        error_message text,
        resumed_count integer NOT NULL DEFAULT 0,
        CHECK ((state = 'running') = (finished_at IS NULL)),
        CHECK (state <> 'committed' OR snapshot_id IS NOT NULL)
      );
      CREATE INDEX backup_runs_by_source ON backup_runs (host, source_kind, source_name, finished_at DESC);
      CREATE INDEX backup_runs_running ON backup_runs (started_at) WHERE state = 'running';`,
  },
  {
    version: 4,
    name: 'snapshots',
    sql: `
      -- A cache of the repository's snapshot objects (DESIGN decision 4): rebuilt from them if lost.
      CREATE TABLE snapshots (
        id      text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
        host    text NOT NULL,
        kind    text NOT NULL CHECK (kind IN ('files', 'postgres', 'redis')),
        name    text NOT NULL,
        time    timestamptz NOT NULL,
        tree    text NOT NULL,
        dek_id  text NOT NULL,
        parent  text,
        paths   text[],
        summary jsonb NOT NULL,
        meta    jsonb,
        tags    text[] NOT NULL DEFAULT '{}'
      );
      CREATE INDEX snapshots_by_time ON snapshots (time DESC, id DESC);
      CREATE INDEX snapshots_by_source ON snapshots (host, kind, name, time DESC, id DESC);`,
  },
  {
    version: 5,
    name: 'audit_log',
    sql: `
      CREATE TABLE audit_log (
        seq       bigserial PRIMARY KEY,
        at        timestamptz NOT NULL,
        actor     text NOT NULL,
        action    text NOT NULL,
        target    text NOT NULL,
        details   jsonb NOT NULL,
        prev_hash text NOT NULL UNIQUE, -- one successor per entry: the chain cannot fork
        hash      text NOT NULL UNIQUE
      );
      -- Append-only in the database too. Whoever can disable these triggers can
      -- still edit rows; verifyChain() is what catches that.
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
      END $$;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();`,
  },
  {
    version: 6,
    name: 'wal_files',
    sql: `
      -- A PostgreSQL source's WAL run (BeginBackup wal_stream): never committed,
      -- never abandoned by the idle sweep; at most one running per source.
      ALTER TABLE backup_runs ADD COLUMN wal_stream boolean NOT NULL DEFAULT false;
      CREATE UNIQUE INDEX backup_runs_one_wal_run ON backup_runs (host, source_kind, source_name) WHERE wal_stream AND state = 'running';
      -- WAL files of PostgreSQL sources (docs/postgres.md, "WAL streaming"): the
      -- blobs whose plaintexts, concatenated, are bytes [0, size) of the file.
      -- Indexed here only (not yet in the repository: docs/repository-format.md).
      CREATE TABLE wal_files (
        host        text NOT NULL,
        source_name text NOT NULL,
        file_name   text NOT NULL,
        timeline    bigint NOT NULL,
        size        bigint NOT NULL CHECK (size >= 0),
        complete    boolean NOT NULL,
        content     text[] NOT NULL,
        sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        dek_ids     text[] NOT NULL,
        run_id      uuid NOT NULL,
        updated_at  timestamptz NOT NULL,
        PRIMARY KEY (host, source_name, file_name)
      );`,
  },
  {
    version: 7,
    name: 'backup_runs_bytes_stored',
    sql: `
      -- Sealed bytes the repository stored for the run (after delta encoding),
      -- added up by the coordinator as upload streams end; NULL for runs from
      -- before it was counted.
      ALTER TABLE backup_runs ADD COLUMN bytes_stored bigint CHECK (bytes_stored >= 0);`,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Advisory lock key held while migrating ("pbk" + 1); any constant unique to pbk would do. */
const MIGRATION_LOCK_KEY = 0x70626b01;

export interface MigrateOptions {
  logger: Logger;
  now: () => Date;
  /** Tests substitute their own list; production uses MIGRATIONS. */
  migrations?: readonly Migration[];
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: number[];
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Brings the schema to the newest version; a no-op when it is there already. */
export async function migrate(db: SqlDb, options: MigrateOptions): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const known = new Map(migrations.map((m) => [m.version, m]));
  const result = await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL
    )`);
    const rows = await tx.query<{ version: unknown; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
    const applied = new Set<number>();
    let from = 0;
    for (const row of rows) {
      const version = toNumber(row.version);
      applied.add(version);
      from = Math.max(from, version);
      const mine = known.get(version);
      if (version > latest) continue; // reported below, as a whole
      if (mine === undefined) {
        throw new CatalogError('FAILED_PRECONDITION', `catalog ${db.location} has migration ${version} (${row.name}) that this pbk-coordinator does not know: it was written by another build; use that build`);
      }
      if (mine.name !== row.name || checksum(mine.sql) !== row.checksum) {
        options.logger.warn({ version, name: row.name }, 'an applied catalog migration differs from the code: released migrations must not be edited');
      }
    }
    if (from > latest) throw new SchemaTooNewError(db.location, from, latest);
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4::timestamptz)', [
        m.version,
        m.name,
        checksum(m.sql),
        iso(options.now()),
      ]);
      done.push(m.version);
    }
    return { from, to: Math.max(from, ...done), applied: done };
  });
  if (result.applied.length > 0) {
    options.logger.info({ location: db.location, from: result.from, to: result.to, applied: result.applied }, 'catalog schema migrated');
  }
  return result;
}
