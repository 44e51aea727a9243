/**
 * Scratch PostgreSQL clusters for tests and benchmarks: initdb into a temp
 * dir, a free port, a socket dir inside it, trust auth on 127.0.0.1 only,
 * wal_level replica (or logical) with room for replication slots. As root
 * (CI), initdb and pg_ctl run as the `postgres` OS user via runuser, since
 * PostgreSQL refuses to run as root. Every cluster started must be stopped:
 * `stopAll()` in an afterAll hook stops whatever a test left running.
 */
import { chmod, chown, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { isRoot, run, type RunResult } from './run.js';

export const PG_BIN = process.env.PBK_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const PG_OS_USER = 'postgres';

export function pgBin(name: string): string {
  return join(PG_BIN, name);
}

export function pgAvailable(): boolean {
  return existsSync(pgBin('initdb')) && existsSync(pgBin('pg_receivewal'));
}

/** Runs a PostgreSQL program as the cluster's OS user (postgres when we are root). */
export function runAsPg(name: string, args: readonly string[], options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  const env = { ...process.env, ...options.env };
  if (isRoot()) return run('runuser', ['-u', PG_OS_USER, '--', pgBin(name), ...args], { ...options, env });
  return run(pgBin(name), args, { ...options, env });
}

export interface PgClusterOptions {
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string | number>;
  /** fsync off etc. for speed (default true); benchmarks pass false for real durability costs. */
  fast?: boolean;
  /** Create the cluster without starting it. */
  noStart?: boolean;
  /** Use this directory (must not exist or be empty) instead of a new temp one. */
  dataDir?: string;
}

export class PgCluster {
  private running = false;
  constructor(
    readonly baseDir: string,
    readonly dataDir: string,
    readonly port: number,
  ) {}

  get host(): string {
    return '127.0.0.1';
  }

  /** A libpq URL for the given database (trust auth: no password). */
  url(db = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${db}`;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    await runAsPg('pg_ctl', ['-D', this.dataDir, '-l', join(this.baseDir, 'server.log'), '-w', '-t', '60', '-o', `-p ${this.port}`, 'start']);
    this.running = true;
    live.add(this);
  }

  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running && !existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    await runAsPg('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], { allowFailure: true });
    this.running = false;
    live.delete(this);
  }

  /** Runs SQL; returns the rows. */
  async query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = [], db = 'postgres'): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(db) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** A connected client the caller ends. */
  async client(db = 'postgres'): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url(db) });
    await c.connect();
    return c;
  }

  async cleanup(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    await rm(this.baseDir, { recursive: true, force: true });
  }
}

const live = new Set<PgCluster>();

/** Stops every cluster still running (afterAll safety net). */
export async function stopAllPgClusters(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop('immediate').catch(() => undefined)));
}

/** A temp directory the postgres OS user can write (owned by it when we are root). */
export async function pgTempDir(prefix = 'pbk-pg-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o700);
  if (isRoot()) {
    const { uid, gid } = await pgOsIds();
    await chown(dir, uid, gid);
  }
  return dir;
}

let ids: { uid: number; gid: number } | undefined;
/** uid and gid of the postgres OS user. */
export async function pgOsIds(): Promise<{ uid: number; gid: number }> {
  if (ids) return ids;
  if (!isRoot()) return (ids = { uid: process.getuid!(), gid: process.getgid!() });
  const out = (await run('id', ['-u', PG_OS_USER])).stdout.trim();
  const outG = (await run('id', ['-g', PG_OS_USER])).stdout.trim();
  return (ids = { uid: Number(out), gid: Number(outG) });
}

/** initdb + configuration + start. */
export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const baseDir = await pgTempDir();
  const dataDir = options.dataDir ?? join(baseDir, 'data');
  const port = await freePort();
  await runAsPg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', ...(options.fast === false ? [] : ['--no-sync'])]);
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    port,
    unix_socket_directories: `'${baseDir}'`,
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: 0,
    logging_collector: 'off',
    ...(options.fast === false ? {} : { fsync: 'off', full_page_writes: 'on', synchronous_commit: 'on', shared_buffers: "'64MB'" }),
    ...options.settings,
  };
  await appendFile(join(dataDir, 'postgresql.conf'), `\n# pbk testkit\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  await writeFile(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n');
  if (isRoot()) {
    const { uid, gid } = await pgOsIds();
    await chown(join(dataDir, 'pg_hba.conf'), uid, gid);
  }
  const cluster = new PgCluster(baseDir, dataDir, port);
  if (!options.noStart) await cluster.start();
  return cluster;
}
