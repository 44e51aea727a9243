/**
 * Logical backups of a PostgreSQL source (docs/postgres.md, "Logical
 * backups"): `pg_dump -Fd -j N` per database, then every file of the dump
 * directory stored into the tree as `logical/<db>/...`, and the roles and
 * other globals from `pg_dumpall --globals-only` streamed from its stdout as
 * `globals.sql`. The table list (`pg_restore -l`) goes into the labels for
 * content checks.
 *
 * pg_dump -Fd can only write to a local directory, so each dump exists in
 * plaintext for as long as it takes to dump and store it: in a 0700 temp
 * directory of the agent's user, removed right after (also on failure).
 * Point the agent's TMPDIR at a tmpfs or an encrypted scratch volume to keep
 * even that off persistent disk.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { storeStream, TreeBuilder, type EntryMeta } from '@pbk/storage';
import type { Produced, ProduceContext } from '../backup/run.js';
import type { Clock } from '../clock.js';
import type { PostgresSourceConfig } from '../config/postgres.js';
import { AgentError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { childEnv, classifyFailure, pgProgram, runProgram, TailBuffer, withClient } from './connection.js';

const LABEL_MAX = 1000;

/** Entry name of a database's dump directory: any database name, made a safe single path component. */
export function dumpDirName(db: string): string {
  return encodeURIComponent(db).replace(/^\.+/, (m) => '%2E'.repeat(m.length));
}

export async function listDatabases(cfg: PostgresSourceConfig): Promise<string[]> {
  if (cfg.logicalDatabases) return [...cfg.logicalDatabases];
  return withClient(cfg, async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1')).rows.map((r) => r.datname));
}

export async function produceLogicalBackup(cfg: PostgresSourceConfig, deps: { clock: Clock }, ctx: ProduceContext): Promise<Produced> {
  ctx.setPhase('connecting');
  const started = deps.clock.now();
  const databases = await listDatabases(cfg);
  if (databases.length === 0) throw new AgentError('FAILED_PRECONDITION', `source ${cfg.name}: no database to dump (none allows connections, or databases: is empty)`);
  const builder = new TreeBuilder({ mode: 0o700, uid: 0, gid: 0, mtimeNs: String(BigInt(started) * 1_000_000n) });
  const sctx = { sink: ctx.sink, dek: ctx.dek, idKey: ctx.idKey, chunker: ctx.chunker, signal: ctx.signal, ...(ctx.zstdLevel !== undefined ? { zstdLevel: ctx.zstdLevel } : {}) };
  let bytesRead = 0;
  const tableCounts: string[] = [];

  // Globals first: roles must exist before objects owned by them are restored.
  ctx.setPhase('dumping globals');
  const globalsEnv = await childEnv(cfg.connection);
  const globals = await storeChildStdout(pgProgram(cfg, 'pg_dumpall'), ['--globals-only', '--no-password'], globalsEnv, sctx, ctx.signal, cfg);
  builder.addFile('globals.sql', fileMeta(0o600, started), globals);
  bytesRead += globals.size;

  const scratch = await mkdtemp(join(tmpdir(), 'pbk-pgdump-'));
  try {
    for (const db of databases) {
      ctx.setPhase(`dumping ${db}`);
      const out = join(scratch, 'dump');
      const env = await childEnv(cfg.connection, db);
      const r = await runProgram(pgProgram(cfg, 'pg_dump'), ['-Fd', '-j', String(cfg.jobs), '-f', out, '--no-password'], { env, signal: ctx.signal });
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (r.code !== 0) throw classifyFailure(`pg_dump ${db}`, r.code, r.stderr, cfg.connection, cfg.name);
      const listing: Buffer[] = [];
      const list = await runProgram(pgProgram(cfg, 'pg_restore'), ['-l', out], { env, onStdout: (b) => listing.push(b) });
      if (list.code !== 0) throw classifyFailure('pg_restore -l', list.code, list.stderr, cfg.connection, cfg.name);
      tableCounts.push(`${db}:${countTables(Buffer.concat(listing).toString('utf8'))}`);
      ctx.setPhase(`storing ${db}`);
      const dir = `logical/${dumpDirName(db)}`;
      builder.addDir(dir, fileMeta(0o700, started));
      for (const name of (await readdir(out)).sort()) {
        const st = await stat(join(out, name));
        if (!st.isFile()) continue;
        const stored = await storeStream(sctx, createReadStream(join(out, name), { highWaterMark: 1024 * 1024 }));
        builder.addFile(`${dir}/${name}`, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeNs: String(BigInt(Math.round(st.mtimeMs)) * 1_000_000n) }, stored);
        bytesRead += stored.size;
        ctx.setInput(bytesRead);
      }
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  ctx.setPhase('saving trees');
  const saved = await builder.save(ctx.sink, ctx.dek, ctx.idKey);
  const version = await withClient(cfg, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v).catch(() => '');
  return {
    tree: saved.root,
    timeUnixMs: started,
    files: builder.files,
    dirs: builder.dirs,
    totalBytes: builder.bytes,
    bytesRead,
    skipped: [],
    paths: [],
    labels: {
      type: 'logical',
      databases: databases.join(',').slice(0, LABEL_MAX),
      table_counts: tableCounts.join(',').slice(0, LABEL_MAX),
      server_version: version,
      dump_format: 'directory',
    },
  };
}

/** Tables with data in a `pg_restore -l` listing. */
export function countTables(listing: string): number {
  return listing.split('\n').filter((l) => !l.startsWith(';') && / TABLE DATA /.test(l)).length;
}

function fileMeta(mode: number, ms: number): EntryMeta {
  return { mode, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs: String(BigInt(ms) * 1_000_000n) };
}

/** Streams a program's stdout into the repository (no temp file); fails with the program's own words. */
async function storeChildStdout(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  sctx: Parameters<typeof storeStream>[0],
  signal: AbortSignal,
  cfg: PostgresSourceConfig,
): Promise<Awaited<ReturnType<typeof storeStream>>> {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const err = new TailBuffer();
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(new AgentError('FAILED_PRECONDITION', `cannot run ${file}: ${e.message}; check binDir`, { cause: e })));
    child.on('close', resolve);
  });
  // Awaited below; until then a spawn failure must not count as an unhandled rejection.
  exited.catch(() => undefined);
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const stored = await storeStream(sctx, child.stdout);
    const code = await exited;
    if (code !== 0) throw classifyFailure(file.split('/').pop()!, code, err.toString(), cfg.connection, cfg.name);
    return stored;
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Restores one database's dump from a logical snapshot: the dump directory
 * is restored into a 0700 temp directory, `pg_restore -j N -d INTO` reads it
 * (password from the target host's .pgpass / PGPASSFILE; never argv), and
 * the temp directory is removed, also on failure.
 */
export async function runLogicalRestore(
  deps: RestoreDeps & { log: Logger },
  tools: { binDir: string; jobs: number },
  cmd: v1.RestoreCommand__Output,
  run: RestoreRun,
): Promise<v1.RestoreSummary> {
  const o = cmd.postgresLogical;
  if (!o || o.database === '' || o.into === '') throw new AgentError('INVALID_ARGUMENT', 'a logical restore needs the database and the connection string to restore into');
  const snap = cmd.snapshot;
  if (snap?.labels?.type !== 'logical') throw new AgentError('INVALID_ARGUMENT', `snapshot ${snap?.id.toString('hex') ?? '?'} is not a logical dump (type ${snap?.labels?.type ?? 'unknown'}); pick one with pbk snapshots`);
  const dbs = (snap.labels.databases ?? '').split(',');
  if (!dbs.includes(o.database)) throw new AgentError('NOT_FOUND', `the dump ${snap.id.toString('hex').slice(0, 8)} has no database ${JSON.stringify(o.database)}; it holds: ${dbs.join(', ')}`);
  const scratch = await mkdtemp(join(tmpdir(), 'pbk-pgrestore-'));
  const started = Date.now();
  try {
    const tree = await runRestore(deps, { ...cmd, path: `logical/${dumpDirName(o.database)}`, targetDir: scratch, force: true }, run);
    const dumpDir = join(scratch, dumpDirName(o.database));
    const jobs = o.jobs > 0 ? o.jobs : tools.jobs;
    const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: 'pbk-agent' };
    delete env.PGPASSWORD;
    run.onProgress?.({ phase: 'pg_restore', bytesDone: tree.bytes, bytesTotal: tree.bytes, elapsedMs: Date.now() - started });
    const args = ['-j', String(jobs), '-d', o.into, '--no-password', '--exit-on-error', ...(o.clean ? ['--clean', '--if-exists'] : []), dumpDir];
    const r = await runProgram(join(tools.binDir, 'pg_restore'), args, { env, signal: run.signal });
    if (run.signal.aborted) throw run.signal.reason;
    if (r.code !== 0) {
      throw new AgentError('FAILED_PRECONDITION', `pg_restore into the target database failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-4).join(' | ').slice(0, 900)}`);
    }
    deps.log.info({ database: o.database, jobs, bytes: tree.bytes }, 'logical restore finished');
    return { ...tree, targetDir: '', durationMs: Date.now() - started, facts: { database: o.database, jobs: String(jobs), tables: tablesOf(snap.labels.table_counts ?? '', o.database) } };
  } catch (err) {
    deps.log.warn({ err: messageOf(err) }, 'logical restore failed');
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The table count the dump recorded for one database ("db1:3,db2:5"); "" when unknown. */
function tablesOf(counts: string, db: string): string {
  for (const part of counts.split(',')) {
    const at = part.lastIndexOf(':');
    if (at > 0 && part.slice(0, at) === db) return part.slice(at + 1);
  }
  return '';
}
