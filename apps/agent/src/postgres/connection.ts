/**
 * Talking to the configured PostgreSQL server: SQL through `pg`, and the
 * environment the PostgreSQL programs (pg_basebackup, pg_dump, ...) run with.
 * The password goes to children only as PGPASSWORD in their environment,
 * never on a command line (`ps` shows argv to every user), and PG* variables
 * of the agent's own environment are dropped so a child connects exactly
 * where the config says.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import type { PostgresConnection, PostgresSourceConfig } from '../config/postgres.js';
import { readSecret } from '../config/fields.js';
import { AgentError, messageOf } from '../errors.js';

/** A PostgreSQL program or query failed; `program` and the tail of its stderr say where and why. */
export class PostgresError extends AgentError {
  readonly program: string;
  readonly exitCode: number | null;
  constructor(code: ConstructorParameters<typeof AgentError>[0], program: string, exitCode: number | null, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.program = program;
    this.exitCode = exitCode;
  }
}

const AUTH_RE = /password authentication failed|no password supplied|authentication failed|fe_sendauth|SASL authentication|28P01/i;
const GONE_RE = /server closed the connection unexpectedly|terminating connection due to administrator command|the database system is shutting down|could not connect to server|Connection refused|connection to server .* failed|could not receive data|57P01|ECONNREFUSED|ECONNRESET|the database system is starting up|Connection terminated unexpectedly/i;

/** Turns a program's failure (or a `pg` error) into a typed error with what an operator should do. */
export function classifyFailure(program: string, exitCode: number | null, detail: string, conn: PostgresConnection, source: string): PostgresError {
  const where = `${conn.user}@${conn.host}:${conn.port}`;
  const tail = detail.trim().split('\n').slice(-4).join(' | ').slice(0, 900);
  if (AUTH_RE.test(detail)) {
    return new PostgresError('UNAUTHENTICATED', program, exitCode, `PostgreSQL refused the credentials of ${where} (source ${source}): ${tail}. Check passwordFile/passwordEnv and pg_hba.conf`);
  }
  if (GONE_RE.test(detail)) {
    return new PostgresError(
      'FAILED_PRECONDITION',
      program,
      exitCode,
      `${program}: the PostgreSQL server at ${where} stopped, restarted or is unreachable (source ${source}): ${tail}. Nothing was committed; the next run starts over once the server is up`,
    );
  }
  return new PostgresError('FAILED_PRECONDITION', program, exitCode, `${program} failed${exitCode === null ? '' : ` (exit ${exitCode})`} for source ${source} at ${where}: ${tail}`);
}

/** Environment for a PostgreSQL program: PGHOST/PGPORT/PGUSER/PGDATABASE/PGSSLMODE and PGPASSWORD, nothing else PG*. */
export async function childEnv(conn: PostgresConnection, database?: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.PGHOST = conn.host;
  env.PGPORT = String(conn.port);
  env.PGUSER = conn.user;
  env.PGDATABASE = database ?? conn.database;
  env.PGAPPNAME = 'pbk-agent';
  if (conn.sslmode !== undefined) env.PGSSLMODE = conn.sslmode;
  const password = await readSecret(conn.password, 'postgres password');
  if (password !== undefined) env.PGPASSWORD = password;
  return env;
}

/** A connected `pg` client for the source's database (or another), or a physical replication connection; the caller ends it. */
export async function connect(cfg: PostgresSourceConfig, database?: string, options: { replication?: boolean } = {}): Promise<pg.Client> {
  const c = cfg.connection;
  const password = await readSecret(c.password, 'postgres password');
  // `replication` is a startup parameter pg passes through (its types do not list it).
  const config: pg.ClientConfig & { replication?: string } = {
    host: c.host,
    port: c.port,
    user: c.user,
    database: database ?? c.database,
    ...(password !== undefined ? { password } : {}),
    ...(c.sslmode === 'require' || c.sslmode?.startsWith('verify') ? { ssl: { rejectUnauthorized: c.sslmode !== 'require' } } : {}),
    application_name: 'pbk-agent',
    connectionTimeoutMillis: 10_000,
    ...(options.replication === true ? { replication: 'true' } : {}),
  };
  const client = new pg.Client(config);
  client.on('error', () => undefined); // a server going away mid-session surfaces on the next query
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw classifyFailure('connect', null, `${messageOf(err)} ${(err as { code?: string }).code ?? ''}`, c, cfg.name);
  }
  return client;
}

/** Runs queries on a short-lived connection. */
export async function withClient<T>(cfg: PostgresSourceConfig, fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const client = await connect(cfg, database);
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw classifyFailure('query', null, `${messageOf(err)} ${(err as { code?: string }).code ?? ''}`, cfg.connection, cfg.name);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function pgProgram(cfg: Pick<PostgresSourceConfig, 'binDir'>, name: string): string {
  return join(cfg.binDir, name);
}

/** Keeps the last `max` characters of a child's stderr (for messages), never all of it in memory. */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 8192) {}
  push(b: Buffer | string): void {
    this.text = (this.text + b.toString()).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Runs a program to the end; resolves with its exit code and stderr tail (stdout goes to `onStdout` or is dropped). */
export function runProgram(
  file: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal; onStdout?: (b: Buffer) => void; cwd?: string; uid?: number; gid?: number },
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
    });
    const err = new TailBuffer();
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdout.on('data', (b: Buffer) => options.onStdout?.(b));
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new AgentError('FAILED_PRECONDITION', `cannot run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, stderr: err.toString() });
    });
  });
}
