/**
 * The catalog's SQL handle: one small interface, one dialect (PostgreSQL),
 * two engines (DESIGN decision 6).
 *
 * - `openEmbeddedCatalog(dir)`: PGlite, PostgreSQL compiled to WASM, persisted
 *   in a directory. The default, so nothing else needs to run.
 * - `openPostgresCatalog(url)`: a real server through a `pg` Pool, for
 *   production and for HA (the lease of decision 5 lives there).
 *
 * Guarantees both keep:
 * - `transaction(fn)` is a real BEGIN/COMMIT; it rolls back when `fn` throws
 *   (and rethrows what `fn` threw, untouched). Inside `fn`, use only `tx`:
 *   using the outer handle there throws INTERNAL at once, because on PGlite it
 *   would wait for the transaction it runs in (a deadlock), and on a server it
 *   would run outside the transaction and could wait on the transaction's own
 *   row locks. `tx.transaction(fn)` nests with a SAVEPOINT.
 * - PGlite has one connection: it runs one statement or one whole transaction
 *   at a time, and callers queue (its internal transaction and query mutexes),
 *   so concurrent callers never interleave statements inside a transaction.
 *   On a server, each transaction holds its own pooled connection.
 * - Driver failures become CatalogError with a string code; messages never
 *   carry query parameters, and a URL's password never reaches a message or log.
 * - Values come back as each driver parses them: timestamptz as Date, jsonb
 *   parsed, text[] as arrays. int8 differs (a string from pg, a number from
 *   PGlite): accessors convert with Number().
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '@pbk/storage';
import { CatalogError, CatalogQueryError, CatalogUnavailableError, type CatalogErrorCode } from './errors.js';
import { lockCatalogDir } from './dir-lock.js';

export interface SqlDb {
  /** Which engine runs the SQL. */
  readonly kind: 'embedded' | 'postgres';
  /** Where the catalog lives, safe to log: a directory, or the URL with its password redacted. */
  readonly location: string;
  /** Runs one statement with $1.. parameters and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  /** Waits for running calls, then closes; later calls fail with UNAVAILABLE. Not allowed on a `tx`. */
  close(): Promise<void>;
}

export interface EmbeddedCatalogOptions {
  logger?: Logger;
  /** Stamps the directory lock (who holds it since when). */
  now?: () => Date;
}

export interface PostgresCatalogOptions {
  logger?: Logger;
  /** Pooled connections. Default 10 (pg's default): the coordinator's statements are short. */
  poolSize?: number;
  /** Give up connecting after this long. Default 5000 ms: a dead server should fail startup, not hang it. */
  connectTimeoutMs?: number;
}

// ---- secrets in URLs ------------------------------------------------------

/** The URL with its password replaced by `***`, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    // Not a URL we can parse: hide anything that looks like user:password@ or password=.
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@').replace(/(password=)[^&\s]*/gi, '$1***');
  }
}

/** Removes the URL's password (raw and percent-decoded) from any text. */
function secretScrubber(url: string): (text: string) => string {
  let secrets: string[] = [];
  try {
    const raw = new URL(url).password;
    if (raw !== '') secrets = [raw, safeDecode(raw)];
  } catch {
    const m = /\/\/[^:/@]*:([^@]*)@/.exec(url);
    if (m?.[1]) secrets = [m[1], safeDecode(m[1])];
  }
  secrets = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((t, s) => t.split(s).join('***'), text);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- error classification ---------------------------------------------------

const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

/**
 * Turns a driver error into a CatalogError. Only the message and SQLSTATE are
 * kept: PGlite errors carry the query's parameters, which must not reach logs.
 */
function classifyDbError(err: unknown, location: string, scrub: (s: string) => string): CatalogError {
  if (err instanceof CatalogError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // Node's AggregateError for a refused connection can have an empty message but a code.
  const message = scrub(typeof e.message === 'string' && e.message !== '' ? e.message : (code ?? String(err)));
  const cause = new Error(message);
  const sqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlState === undefined) {
    if ((code !== undefined && /^E[A-Z]+$/.test(code)) || /connect|terminated|timeout|closed/i.test(message)) {
      return new CatalogUnavailableError(location, message, { cause });
    }
    return new CatalogQueryError('INTERNAL', undefined, `catalog operation failed: ${message}`, { cause });
  }
  const cls = sqlState.slice(0, 2);
  let mapped: CatalogErrorCode = 'INTERNAL';
  let hint = '';
  if (sqlState === '23505') mapped = 'ALREADY_EXISTS';
  else if (cls === '23') mapped = 'FAILED_PRECONDITION';
  else if (cls === '22') mapped = 'INVALID_ARGUMENT';
  else if (sqlState === '40001' || sqlState === '40P01') {
    mapped = 'UNAVAILABLE';
    hint = '; a concurrent change won, retry the operation';
  } else if (sqlState === '42501') mapped = 'PERMISSION_DENIED';
  else if (UNAVAILABLE_CLASSES.includes(cls) || cls === '28' || sqlState === '3D000') {
    return new CatalogUnavailableError(location, `${message} (SQLSTATE ${sqlState}); check that the server runs and that the URL's host, port, database, user and password are right`, { cause });
  }
  return new CatalogQueryError(mapped, sqlState, `catalog query failed: ${message} (SQLSTATE ${sqlState})${hint}`, { cause });
}

// ---- transactions shared by both engines ----------------------------------------

/** The minimum a transaction scope needs from one connection. */
interface Connection {
  query(sql: string, params: unknown[]): Promise<unknown[]>;
  exec(sql: string): Promise<void>;
}

interface TxState {
  owner: object;
  open: boolean;
}

/** Set while a transaction callback runs, so the outer handle can refuse to be used inside it. */
const activeTransaction = new AsyncLocalStorage<TxState>();

function assertNotInsideOwnTransaction(owner: object): void {
  const state = activeTransaction.getStore();
  if (state?.open && state.owner === owner) {
    throw new CatalogError(
      'INTERNAL',
      'the catalog handle was used inside its own transaction: use the `tx` passed to transaction() (on the embedded catalog this would deadlock)',
    );
  }
}

/**
 * The `tx` handed to a transaction callback. A nested transaction is a
 * SAVEPOINT with its own child scope; nested calls on one scope take turns.
 */
class TransactionScope implements SqlDb {
  private finished = false;
  private nested: Promise<unknown> = Promise.resolve();

  constructor(
    readonly kind: SqlDb['kind'],
    readonly location: string,
    private readonly conn: Connection,
    /** Shared by every scope of one transaction, so savepoint names never repeat. */
    private readonly savepoints: { count: number } = { count: 0 },
  ) {}

  finish(): void {
    this.finished = true;
  }

  private assertOpen(): void {
    if (this.finished) throw new CatalogError('INTERNAL', 'the transaction already ended: a statement ran after its callback returned (a missing await?)');
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.assertOpen();
    return (await this.conn.query(sql, params)) as T[];
  }

  async exec(sql: string): Promise<void> {
    this.assertOpen();
    await this.conn.exec(sql);
  }

  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    const run = this.nested.then(async () => {
      this.assertOpen();
      const name = `pbk_sp_${++this.savepoints.count}`;
      await this.conn.exec(`SAVEPOINT ${name}`);
      // A child scope: its own nested calls queue on it, not on this one (which would wait for itself).
      const child = new TransactionScope(this.kind, this.location, this.conn, this.savepoints);
      try {
        const result = await fn(child);
        await this.conn.exec(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (err) {
        // If even this fails, the outer transaction is broken and will roll back as a whole.
        await this.conn.exec(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
        throw err;
      } finally {
        child.finish();
      }
    });
    this.nested = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    throw new CatalogError('INTERNAL', 'close() was called on a transaction: close the catalog handle after the transaction ends');
  }
}

/** What both engines share: in-flight tracking for close(), the closed check, the nesting guard. */
abstract class BaseDb implements SqlDb {
  abstract readonly kind: SqlDb['kind'];
  protected closing = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly location: string,
    protected readonly scrub: (s: string) => string,
  ) {}

  protected abstract runQuery(sql: string, params: unknown[]): Promise<unknown[]>;
  protected abstract runExec(sql: string): Promise<void>;
  protected abstract runTransaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  protected abstract shutdown(): Promise<void>;

  protected classify(err: unknown): CatalogError {
    return classifyDbError(err, this.location, this.scrub);
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new CatalogUnavailableError(this.location, 'the catalog is closed (the coordinator is shutting down)'));
    try {
      assertNotInsideOwnTransaction(this);
    } catch (err) {
      return Promise.reject(err);
    }
    const p = work();
    this.inflight.add(p);
    void p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.track(async () => (await this.runQuery(sql, params)) as T[]);
  }

  exec(sql: string): Promise<void> {
    return this.track(() => this.runExec(sql));
  }

  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    return this.track(() => this.runTransaction(fn));
  }

  /** Runs `fn` with `tx`, marking the context so the outer handle refuses use inside it. */
  protected async runInScope<T>(scope: TransactionScope, fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    const state: TxState = { owner: this, open: true };
    try {
      return await activeTransaction.run(state, () => fn(scope));
    } finally {
      state.open = false;
      scope.finish();
    }
  }

  async close(): Promise<void> {
    assertNotInsideOwnTransaction(this);
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.inflight]);
    await this.shutdown();
  }
}

// ---- embedded: PGlite ----------------------------------------------------------

class EmbeddedDb extends BaseDb {
  readonly kind = 'embedded' as const;

  constructor(
    location: string,
    private readonly pglite: PGlite,
    private readonly releaseLock: () => Promise<void>,
  ) {
    super(location, (s) => s);
  }

  protected async runQuery(sql: string, params: unknown[]): Promise<unknown[]> {
    try {
      return (await this.pglite.query(sql, params)).rows;
    } catch (err) {
      throw this.classify(err);
    }
  }

  protected async runExec(sql: string): Promise<void> {
    try {
      await this.pglite.exec(sql);
    } catch (err) {
      throw this.classify(err);
    }
  }

  protected async runTransaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    // PGlite's transaction() holds its transaction mutex from BEGIN to COMMIT/ROLLBACK:
    // other callers' queries and transactions wait their turn.
    let thrownByFn: { err: unknown } | undefined;
    try {
      return await this.pglite.transaction(async (t) => {
        const scope = new TransactionScope(this.kind, this.location, this.connectionOf(t));
        try {
          return await this.runInScope(scope, fn);
        } catch (err) {
          thrownByFn = { err };
          throw err;
        }
      });
    } catch (err) {
      if (thrownByFn !== undefined && thrownByFn.err === err) throw err;
      throw this.classify(err);
    }
  }

  private connectionOf(t: PGliteTransaction): Connection {
    return {
      query: async (sql, params) => {
        try {
          return (await t.query(sql, params)).rows;
        } catch (err) {
          throw this.classify(err);
        }
      },
      exec: async (sql) => {
        try {
          await t.exec(sql);
        } catch (err) {
          throw this.classify(err);
        }
      },
    };
  }

  protected async shutdown(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      await this.releaseLock();
    }
  }
}

/**
 * Opens (creating on first use, which takes a few seconds) the embedded
 * catalog in `dir`. One process at a time: a second opener gets
 * FAILED_PRECONDITION naming the holder.
 */
export async function openEmbeddedCatalog(dir: string, options: EmbeddedCatalogOptions = {}): Promise<SqlDb> {
  const location = resolve(dir);
  try {
    // 0700: the catalog holds token hashes, audit records and the agents' certificate serials.
    await mkdir(location, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CatalogUnavailableError(location, `cannot create the directory: ${(err as Error).message}`, { cause: err });
  }
  const release = await lockCatalogDir(location, options.now ?? (() => new Date()));
  try {
    const started = Date.now();
    const pglite = await PGlite.create(location);
    options.logger?.debug({ location, openMs: Date.now() - started }, 'embedded catalog opened');
    return new EmbeddedDb(location, pglite, release);
  } catch (err) {
    await release();
    throw new CatalogUnavailableError(location, `PGlite could not open it: ${(err as Error).message}; is the directory a PGlite catalog written by a compatible version?`, { cause: err });
  }
}

// ---- server: pg Pool ------------------------------------------------------------

class PostgresDb extends BaseDb {
  readonly kind = 'postgres' as const;

  constructor(
    location: string,
    scrub: (s: string) => string,
    private readonly pool: pg.Pool,
  ) {
    super(location, scrub);
  }

  protected async runQuery(sql: string, params: unknown[]): Promise<unknown[]> {
    try {
      return (await this.pool.query(sql, params)).rows;
    } catch (err) {
      throw this.classify(err);
    }
  }

  protected async runExec(sql: string): Promise<void> {
    try {
      // Without parameters pg uses the simple protocol, which takes several statements.
      await this.pool.query(sql);
    } catch (err) {
      throw this.classify(err);
    }
  }

  protected async runTransaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.classify(err);
    }
    let broken = false;
    let thrownByFn: { err: unknown } | undefined;
    try {
      await client.query('BEGIN');
      const scope = new TransactionScope(this.kind, this.location, this.connectionOf(client));
      let result: T;
      try {
        result = await this.runInScope(scope, fn);
      } catch (err) {
        thrownByFn = { err };
        throw err;
      }
      const commit = await client.query('COMMIT');
      // A transaction in which a statement failed (and fn swallowed the error) "commits" as ROLLBACK.
      if (commit.command === 'ROLLBACK') {
        throw new CatalogQueryError('INTERNAL', '25P02', 'the transaction was rolled back because a statement in it failed; nothing was written');
      }
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable: the pool must drop it, not reuse it
      }
      if (thrownByFn !== undefined && thrownByFn.err === err) throw err;
      throw this.classify(err);
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  private connectionOf(client: pg.PoolClient): Connection {
    return {
      query: async (sql, params) => {
        try {
          return (await client.query(sql, params)).rows;
        } catch (err) {
          throw this.classify(err);
        }
      },
      exec: async (sql) => {
        try {
          await client.query(sql);
        } catch (err) {
          throw this.classify(err);
        }
      },
    };
  }

  protected async shutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Connects to the catalog on a PostgreSQL server and checks it answers; fails
 * with UNAVAILABLE (password redacted) when it does not.
 */
export async function openPostgresCatalog(url: string, options: PostgresCatalogOptions = {}): Promise<SqlDb> {
  const location = redactUrl(url);
  const scrub = secretScrubber(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'pbk-coordinator',
  });
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (err) => {
    options.logger?.warn({ location, error: scrub(err.message) }, 'an idle catalog connection failed; the pool opens a new one when needed');
  });
  const db = new PostgresDb(location, scrub, pool);
  try {
    await db.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof CatalogUnavailableError) throw err;
    throw new CatalogUnavailableError(location, `${(err as Error).message}; check that the server runs and the URL is right`, { cause: err });
  }
  options.logger?.debug({ location }, 'catalog server connected');
  return db;
}
