/**
 * One backup run of a redis source (backup/run.ts does BeginBackup, resume,
 * commit and abort): BGSAVE (bgsave.ts), find and open the dump
 * (rdb-file.ts), stream it through the chunker into the run's sink
 * (storeStream: unchanged parts of the dump deduplicate to nothing), and
 * save a one-file tree `dump.rdb`. The labels record what validation and
 * restores need (docs/redis.md, "Labels").
 *
 * The Redis connection stays open for the whole run: if Redis goes away
 * mid-run the run fails (and is aborted on the coordinator) rather than
 * committing a dump nobody can vouch for any more.
 */
import type { v1 } from '@pbk/protocol';
import { dirname } from 'node:path';
import { storeStream, TreeBuilder, type StoredStream } from '@pbk/storage';
import { runBackup, type BackupDeps, type BackupModeName, type ProduceContext, type Produced } from '../backup/run.js';
import type { RedisSourceConfig } from '../config/redis.js';
import type { RunBatch } from '../schedule/run-queue.js';
import { bgsave, persistence, type BgsaveResult } from './bgsave.js';
import { connectRedis, type RedisConnection } from './connection.js';
import { RedisSourceError } from './errors.js';
import { formatCounts, parseInfo, parseKeyspace, type DbCounts } from './info.js';
import { findGrowingRdb, followGrowing, locateRdb, openRdb, sameAsDump, type OpenedFacts, type SaveState } from './rdb-file.js';

/** How often a growing dump is looked at for new bytes: short, the reader otherwise idles behind the writer. */
const FOLLOW_POLL_MS = 10;

/** The name of the dump inside a redis snapshot's tree. */
export const RDB_ENTRY = 'dump.rdb';

export interface RedisFacts {
  /** Where the dump was read (label rdb_file); restores --into reuse it. */
  rdbFile: string;
  appendonly: boolean;
}

export function runRedisBackup(
  deps: BackupDeps,
  source: RedisSourceConfig,
  batch: RunBatch<BackupModeName, v1.Progress>,
  onFacts?: (f: RedisFacts) => void,
): Promise<v1.SnapshotInfo__Output> {
  return runBackup(deps, { source: { host: deps.host, kind: 'SOURCE_KIND_REDIS', name: source.name }, produce: (ctx) => dumpRedis(deps, source, ctx, onFacts) }, batch);
}

async function dumpRedis(deps: BackupDeps, cfg: RedisSourceConfig, ctx: ProduceContext, onFacts?: (f: RedisFacts) => void): Promise<Produced> {
  const log = ctx.log;
  ctx.setPhase('dumping');
  const conn = await connectRedis(cfg);
  // The run stops when Redis goes away or the run is cancelled, whichever comes first.
  const stop = new AbortController();
  const onOuter = (): void => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onOuter, { once: true });
  conn.gone.catch((err: unknown) => stop.abort(err));
  const guarded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, conn.gone, aborted(stop.signal)]);
  try {
    const server = parseInfo(String(await guarded(conn.call('INFO', 'server'))));
    const memory = parseInfo(String(await guarded(conn.call('INFO', 'memory'))));
    const before = await keyspace(conn, guarded);
    const where = await guarded(locateRdb(conn, cfg.address, cfg.rdbPath));
    // The save runs in the background while the dump is read as it grows (rdb-file.ts, findGrowingRdb).
    let requestedAt: number | undefined;
    let outcome: { ok: true } | { ok: false; error: unknown } | undefined;
    const state: SaveState = { requestedAt: () => requestedAt, outcome: () => outcome };
    const saving = bgsave(conn, {
      address: cfg.address,
      timeoutMs: cfg.bgsaveTimeoutMs,
      pollMs: cfg.pollIntervalMs,
      clock: deps.clock,
      signal: stop.signal,
      log,
      onRequested: (sec) => {
        requestedAt = sec;
      },
    });
    saving.then(
      () => {
        outcome = { ok: true };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    const streamCtx = { sink: ctx.sink, dek: ctx.dek, idKey: ctx.idKey, chunker: ctx.chunker, signal: stop.signal, ...(ctx.zstdLevel !== undefined ? { zstdLevel: ctx.zstdLevel } : {}) };
    let stored: StoredStream | undefined;
    let facts: OpenedFacts | undefined;
    let saved: BgsaveResult;
    let streamed: 'during-save' | 'after-save' = 'after-save';
    const growing = await guarded(findGrowingRdb(dirname(where.path), state, stop.signal, FOLLOW_POLL_MS));
    if (growing !== undefined) {
      try {
        ctx.setPhase('uploading');
        log.info({ rdb: where.path, temp: growing.path }, 'dump started; streaming the RDB as Redis writes it');
        stored = await storeStream(streamCtx, followGrowing(growing.fh, growing.path, state, stop.signal, FOLLOW_POLL_MS, (done) => ctx.setInput(done)));
        saved = await guarded(saving);
        facts = await sameAsDump(growing.fh, where.path, stored.size);
        if (facts !== undefined) streamed = 'during-save';
        if (facts === undefined) log.warn({ rdb: where.path, temp: growing.path }, 'the file read while it grew is not the finished dump; reading the dump again');
      } finally {
        await growing.fh.close();
      }
    } else {
      saved = await guarded(saving);
    }
    if (facts === undefined || stored === undefined) {
      const rdb = await guarded(openRdb(where.path, saved.requestedAt));
      try {
        ctx.setPhase('uploading');
        ctx.setInput(0, rdb.size);
        log.info({ rdb: where.path, bytes: rdb.size, rdbVersion: rdb.version, how: saved.how }, 'dump ready; streaming the RDB');
        stored = await storeStream(streamCtx, rdb.chunks(stop.signal, (done) => ctx.setInput(done, rdb.size)));
        await rdb.checkUnchanged();
      } finally {
        await rdb.close();
      }
      facts = { size: rdb.size, version: rdb.version, meta: rdb.meta };
    }
    onFacts?.({ rdbFile: where.path, appendonly: saved.state.aofEnabled });
    const after = await keyspace(conn, guarded);
    const rdb = facts;
    if (stored.size !== rdb.size) throw new RedisSourceError(cfg.address, `read ${stored.size} bytes of ${where.path}, expected ${rdb.size}`);
    // Redis still answers and still reports the save we read: nothing replaced it behind our back.
    const still = await guarded(persistence(conn, cfg.address));
    if (still.lastSave < saved.lastSave) throw new RedisSourceError(cfg.address, `Redis at ${cfg.address} restarted during the run (LASTSAVE went back); the next run dumps again`);

    const tree = new TreeBuilder({ mode: 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs: rdb.meta.mtimeNs });
    tree.addFile(RDB_ENTRY, rdb.meta, stored);
    const root = await tree.save(ctx.sink, ctx.dek, ctx.idKey);
    const labels: Record<string, string> = {
      redis_version: server.get('redis_version') ?? 'unknown',
      rdb_version: String(rdb.version),
      rdb_file: where.path,
      rdb_bytes: String(rdb.size),
      rdb_from: where.from,
      used_memory: memory.get('used_memory') ?? '0',
      lastsave: String(saved.lastSave),
      keys: formatCounts(before, 'keys'),
      expires: formatCounts(before, 'expires'),
      keys_total: String(sum(before)),
      appendonly: saved.state.aofEnabled ? 'yes' : 'no',
      bgsave: saved.how,
      // during-save: read as Redis wrote it (the usual case); after-save: read once finished.
      streamed,
      redis_address: cfg.address,
    };
    // Writes between the two INFO calls move the counts; validation accepts anything in between.
    if (formatCounts(after, 'keys') !== labels.keys) labels.keys_after = formatCounts(after, 'keys');
    return {
      tree: root.root,
      timeUnixMs: saved.requestedAt * 1000,
      files: tree.files,
      dirs: tree.dirs,
      totalBytes: rdb.size,
      bytesRead: rdb.size,
      skipped: [],
      paths: [where.path],
      labels,
    };
  } finally {
    ctx.signal.removeEventListener('abort', onOuter);
    // Ends a BGSAVE wait still polling in the background when the run failed early.
    if (!stop.signal.aborted) stop.abort(new RedisSourceError(cfg.address, 'the run ended'));
    await conn.close();
  }
}

async function keyspace(conn: RedisConnection, guarded: <T>(p: Promise<T>) => Promise<T>): Promise<Map<number, DbCounts>> {
  return parseKeyspace(parseInfo(String(await guarded(conn.call('INFO', 'keyspace')))));
}

function sum(counts: Map<number, DbCounts>): number {
  let n = 0;
  for (const c of counts.values()) n += c.keys;
  return n;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
