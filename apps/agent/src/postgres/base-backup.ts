/**
 * One base backup of a PostgreSQL source (docs/postgres.md, "Base backups"):
 * `pg_basebackup -D - -Ft -X none` writes the data directory as a tar stream
 * to our stdin; each member goes through storeStream (chunk, id, dedup query,
 * seal) into a TreeBuilder, so the snapshot is an ordinary tree that restores
 * with the ordinary (parallel) tree restore. No tar file and no plaintext
 * ever lands on disk. WAL is not in the backup (`-X none`): the WAL stream
 * has it, and the run waits (bounded) until the stream has made the WAL up
 * to the backup's end durable, so a committed base backup is restorable.
 *
 * A cluster with tablespaces outside the data directory is streamed with
 * BASE_BACKUP over a replication connection instead (base-backup-sources.ts):
 * each tablespace's members go under pg_tblspc/<oid>/ in the tree (in place
 * of the symlink), and a restore moves each to where the operator maps it
 * and links it back (tablespaces.ts).
 *
 * The snapshot's time is when the backup became consistent (the stream
 * ended), since point-in-time recovery needs base.stop <= target.
 */
import { SealAheadGauge, SealPool, storeStream, TreeBuilder, type EntryMeta, type StreamContext, type StreamPhases } from '@pbk/storage';
import type { Produced, ProduceContext } from '../backup/run.js';
import type { Clock } from '../clock.js';
import type { PostgresSourceConfig } from '../config/postgres.js';
import { AgentError, messageOf } from '../errors.js';
import { parseBackupLabel, parseManifestWalRanges } from './backup-label.js';
import { pgBasebackupSource, protocolSource, type SourceEnd } from './base-backup-sources.js';
import { withClient } from './connection.js';
import { hintAt, isRelationFile, previousRelationChunks, RELATION_CHUNK_BYTES } from './relation-chunks.js';
import { readTarToEnd } from './tar.js';

/** Small members whose text becomes labels as well as files. */
const REMEMBERED = new Set(['backup_label', 'tablespace_map', 'backup_manifest']);
/**
 * Chunks claimed per dedup round trip: a base backup streams hundreds of MB
 * at disk speed, and at the default 4 MiB the run waits on MissingBlobs
 * round trips most of the time. Costs this much memory per stream.
 */
const CLAIM_BATCH_BYTES = 32 * 1024 * 1024;
/**
 * Members whose last batches may still be in flight while the next ones are
 * read. A data directory is hundreds of members, most far below one claim
 * batch: awaited one by one, each cost at least one MissingBlobs round trip
 * with the tar stream stopped. Bounded by count and by PENDING_BYTES (each
 * member weighs its size, at most the two batches storeStream keeps in flight).
 * 128: runs of small members (a database's catalog, hundreds of files of a
 * few pages) no longer stop the tar stream behind 16 round trips; the bytes
 * bound is what limits memory.
 */
const MEMBERS_IN_FLIGHT = 128;
const PENDING_BYTES = 96 * 1024 * 1024;
/** Members of at least this size log their phase timings at debug level (smaller ones only add to the sum). */
const PHASE_LOG_BYTES = 1024 * 1024;
/** Labels are at most 1024 characters (coordinator limit): longer text is cut, the file in the tree stays whole. */
const LABEL_TEXT_MAX = 1000;

export interface BaseBackupDeps {
  clock: Clock;
  /** Resolves once the WAL stream has made everything up to `lsn` durable; rejects on timeout. Undefined when WAL streaming is off. */
  waitWal?: (lsn: string, timeoutMs: number) => Promise<unknown>;
  /** How long a finished backup waits for its WAL before committing without that promise. */
  walWaitMs: number;
}

export interface ServerFacts {
  versionNum: number;
  version: string;
  systemIdentifier: string;
  inRecovery: boolean;
  /** Tablespaces besides pg_default and pg_global. */
  tablespaces: { oid: string; name: string }[];
  sizeBytes: number;
}

export async function serverFacts(cfg: PostgresSourceConfig): Promise<ServerFacts> {
  return withClient(cfg, async (c) => {
    const r = await c.query<{ v: string; vn: string; sysid: string; rec: boolean; size: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS vn,
              (SELECT system_identifier::text FROM pg_control_system()) AS sysid, pg_is_in_recovery() AS rec,
              (SELECT sum(pg_database_size(oid))::text FROM pg_database) AS size`,
    );
    const ts = await c.query<{ oid: string; spcname: string }>(`SELECT oid::text AS oid, spcname FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid`);
    const row = r.rows[0]!;
    return { version: row.v, versionNum: Number(row.vn), systemIdentifier: row.sysid, inRecovery: row.rec, tablespaces: ts.rows.map((t) => ({ oid: t.oid, name: t.spcname })), sizeBytes: Number(row.size) };
  });
}

export async function produceBaseBackup(cfg: PostgresSourceConfig, deps: BaseBackupDeps, ctx: ProduceContext): Promise<Produced> {
  ctx.setPhase('connecting');
  // Read while the backup starts; awaited by the first relation file. Never rejects.
  const previous = previousRelationChunks(ctx);
  const facts = await serverFacts(cfg);
  if (facts.tablespaces.length > 0 && facts.versionNum < 150000) {
    throw new AgentError(
      'FAILED_PRECONDITION',
      `source ${cfg.name} has tablespaces outside the data directory (${facts.tablespaces.map((t) => t.name).join(', ')}) on PostgreSQL ${facts.version}: the agent streams such clusters with PostgreSQL 15's BASE_BACKUP protocol only; upgrade, or move them into pg_default (ALTER TABLE ... SET TABLESPACE)`,
    );
  }
  const started = deps.clock.now();
  const label = `pbk-${new Date(started).toISOString()}`;
  ctx.log.info({ server: facts.version, sizeBytes: facts.sizeBytes, label, tablespaces: facts.tablespaces.length }, 'base backup started');
  ctx.setPhase('streaming');
  // pg_basebackup -D - streams one tablespace only: clusters with more speak BASE_BACKUP themselves (base-backup-protocol.ts).
  const source = facts.tablespaces.length > 0 ? await protocolSource(cfg, label) : await pgBasebackupSource(cfg, label);
  const onAbort = (): void => source.stop();
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  const builder = new TreeBuilder({ mode: 0o700, uid: 0, gid: 0, mtimeNs: String(BigInt(started) * 1_000_000n) });
  const remembered = new Map<string, string>();
  let bytesRead = 0;
  // One pool of threads that id and seal chunks for every member (hundreds of them): started once, closed below.
  const pool = new SealPool({ dek: ctx.dek, idKey: ctx.idKey, ...(ctx.zstdLevel !== undefined ? { zstdLevel: ctx.zstdLevel } : {}) });
  // One gauge for all members: most are too small to tell a first backup (everything missing, seal ahead) from an incremental one.
  const sctx: StreamContext = { sink: ctx.sink, dek: ctx.dek, idKey: ctx.idKey, chunker: ctx.chunker, signal: ctx.signal, claimBatchBytes: CLAIM_BATCH_BYTES, pool, sealAhead: new SealAheadGauge() };
  /** Where the members' batches waited, summed (logged with the end of the stream: which stage held the backup up). */
  const waited: StreamPhases = { idMs: 0, claimMs: 0, sealMs: 0, addMs: 0, batchesAhead: 0, sealedForNothing: 0 };
  /** Members read to their end whose last batches are still being claimed, sealed or sent. */
  const pending = new Set<Promise<void>>();
  let pendingBytes = 0;
  let memberFailure: { err: unknown } | undefined;

  /** Stores one file member; returns once its bytes are read (its last batches may still be in flight). */
  const addFile = async (name: string, meta: EntryMeta, size: number, content: AsyncIterable<Buffer>): Promise<void> => {
    if (memberFailure) throw memberFailure.err;
    const keep = REMEMBERED.has(name);
    const kept: Buffer[] = [];
    let readAll!: () => void;
    const read = new Promise<void>((resolve) => (readAll = resolve));
    const counted = (async function* () {
      for await (const piece of content) {
        bytesRead += piece.length;
        ctx.setInput(bytesRead, facts.sizeBytes);
        if (keep) kept.push(piece);
        yield piece;
      }
      readAll();
    })();
    const weight = Math.min(size, 2 * CLAIM_BATCH_BYTES);
    let stream: StreamContext = sctx;
    if (isRelationFile(name)) {
      // Fixed chunks line up with the previous backup's: each changed one is hinted with the chunk it replaces.
      const before = (await previous).get(name);
      // moveInput: nothing here keeps a relation file's pieces (only REMEMBERED members' are kept), so they travel to the seal workers without a copy.
      stream = { ...sctx, fixedChunkBytes: RELATION_CHUNK_BYTES, moveInput: !keep, ...(before !== undefined ? { deltaHint: hintAt(before) } : {}) };
    }
    const job = storeStream(stream, counted).then((stored) => {
      addPhases(waited, stored.phases);
      if (stored.size >= PHASE_LOG_BYTES) ctx.log.debug({ member: name, bytes: stored.size, blobsNew: stored.blobsNew, ...roundPhases(stored.phases) }, 'base backup member stored');
      builder.addFile(name, meta, stored);
      if (keep) remembered.set(name, Buffer.concat(kept).toString('utf8'));
    });
    const tracked: Promise<void> = job.then(
      () => {
        pending.delete(tracked);
        pendingBytes -= weight;
      },
      (err: unknown) => {
        memberFailure ??= { err };
        pending.delete(tracked);
        pendingBytes -= weight;
      },
    );
    pending.add(tracked);
    pendingBytes += weight;
    // The tar stream moves on once this member's bytes are read; its last batches finish meanwhile.
    await Promise.race([read, job]);
    while (pending.size >= MEMBERS_IN_FLIGHT || (pending.size > 1 && pendingBytes > PENDING_BYTES)) await Promise.race(pending);
  };

  let finished: SourceEnd;
  try {
    for await (const archive of source.archives()) {
      // A tablespace's archive holds what is under its directory: that directory becomes pg_tblspc/<oid> in the tree.
      let rootAdded = archive.prefix === '';
      for await (const { entry, content } of readTarToEnd(archive.data)) {
        if (entry.name === '' || entry.name === '.' || archive.skip(entry.name)) continue;
        const name = archive.prefix + entry.name;
        const meta: EntryMeta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeNs: String(BigInt(Math.round(entry.mtime * 1000)) * 1_000_000n) };
        if (!rootAdded) {
          builder.addDir(archive.prefix.slice(0, -1), { ...meta, mode: 0o700 });
          rootAdded = true;
        }
        if (entry.type === 'dir') builder.addDir(name, meta);
        else if (entry.type === 'symlink') builder.addSymlink(name, meta, entry.linkname);
        else if (entry.type === 'file') await addFile(name, meta, entry.size, content);
        else {
          throw new AgentError('FAILED_PRECONDITION', `the base backup sent ${name} as tar type ${JSON.stringify(entry.typeflag)}, which a data directory never holds; refusing an incomplete backup`);
        }
      }
    }
    finished = await source.finish();
    if (finished.manifest !== undefined) {
      // Sent beside the archives, not in them: it becomes the file pg_basebackup -D - would have put in the tar.
      const text = finished.manifest;
      await addFile('backup_manifest', { mode: 0o600, uid: 0, gid: 0, mtimeNs: String(BigInt(deps.clock.now()) * 1_000_000n) }, text.length, (async function* () {
        yield text;
      })());
    }
    await Promise.all(pending);
    if (memberFailure) throw memberFailure.err;
  } catch (err) {
    // Nothing of this backup may still run once it fails: the members in flight settle first (each releases its claims).
    await Promise.allSettled(pending);
    if (ctx.signal.aborted) {
      source.stop();
      throw ctx.signal.reason ?? err;
    }
    throw await source.failed(err);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await pool.close();
  }
  const stopped = deps.clock.now();

  const labelText = remembered.get('backup_label');
  const manifestText = remembered.get('backup_manifest');
  if (labelText === undefined) throw new AgentError('CORRUPT', 'the base backup finished without a backup_label member: refusing a backup that cannot be recovered');
  const bl = parseBackupLabel(labelText);
  const ranges = manifestText !== undefined ? parseManifestWalRanges(manifestText) : [];
  const last = ranges[ranges.length - 1];
  const stopLsn = last?.endLsn ?? finished.stopLsn;
  if (stopLsn === undefined) throw new AgentError('CORRUPT', 'the base backup reported no end LSN (no backup_manifest, no end point)');

  let walDurable = 'off';
  const walWaitStarted = deps.clock.now();
  if (deps.waitWal) {
    ctx.setPhase('waiting for WAL');
    try {
      await deps.waitWal(stopLsn, deps.walWaitMs);
      walDurable = 'true';
    } catch (err) {
      ctx.log.warn({ err: messageOf(err), stopLsn }, 'could not confirm the WAL of the base backup is durable');
      walDurable = 'false';
    }
    if (walDurable === 'false') ctx.log.warn({ stopLsn, waitedMs: deps.walWaitMs }, 'WAL up to the end of the base backup is not durable yet: the backup becomes restorable once the stream catches up');
  }
  const walWaitMs = deps.clock.now() - walWaitStarted;
  ctx.setPhase('saving trees');
  const treesStarted = deps.clock.now();
  const saved = await builder.save(ctx.sink, ctx.dek, ctx.idKey);
  const treesMs = deps.clock.now() - treesStarted;
  ctx.log.info({ startLsn: bl.startLsn, stopLsn, timeline: bl.startTimeline, bytes: bytesRead, durationMs: stopped - started, walWaitMs, treesMs, waited: roundPhases(waited) }, 'base backup streamed');
  const labels: Record<string, string> = {
    type: 'base',
    start_lsn: bl.startLsn,
    stop_lsn: stopLsn,
    timeline: String(last?.timeline ?? bl.startTimeline),
    start_timeline: String(bl.startTimeline),
    start_wal_file: bl.startWalFile,
    start_time_unix_ms: String(started),
    stop_time_unix_ms: String(stopped),
    server_version: facts.version,
    server_version_num: String(facts.versionNum),
    system_identifier: facts.systemIdentifier,
    from_replica: String(facts.inRecovery),
    wal_durable: walDurable,
    // Where the time went: streaming the data directory vs waiting for the WAL stream to catch up.
    stream_ms: String(stopped - started),
    wal_wait_ms: String(walWaitMs),
    backup_label: labelText.slice(0, LABEL_TEXT_MAX),
  };
  // Where each tablespace lived on the server ("oid path" lines, PostgreSQL's tablespace_map format); the tree holds it under pg_tblspc/<oid>.
  const tsMap = finished.tablespaceMap ?? remembered.get('tablespace_map');
  if (tsMap !== undefined && tsMap.length > LABEL_TEXT_MAX) {
    ctx.log.warn({ tablespaces: facts.tablespaces.length, chars: tsMap.length }, 'the tablespace map is longer than a label holds: a restore will ask to place the tablespaces it does not name by hand');
  }
  if (tsMap !== undefined && tsMap.trim() !== '') labels.tablespace_map = wholeLines(tsMap, LABEL_TEXT_MAX);
  // Names, for restores that map tablespaces by name ("oid name" lines).
  if (facts.tablespaces.length > 0) labels.tablespace_names = wholeLines(facts.tablespaces.map((t) => `${t.oid} ${t.name}\n`).join(''), LABEL_TEXT_MAX);
  return {
    tree: saved.root,
    timeUnixMs: stopped,
    files: builder.files,
    dirs: builder.dirs,
    totalBytes: builder.bytes,
    bytesRead,
    skipped: [],
    paths: cfg.dataDirectory ? [cfg.dataDirectory] : [],
    labels,
  };
}

/** The first lines of `text` that fit in `max` characters: a line cut in half would name a wrong path. */
export function wholeLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf('\n', max - 1);
  return cut < 0 ? '' : text.slice(0, cut + 1);
}

function addPhases(into: StreamPhases, p: StreamPhases): void {
  into.idMs += p.idMs;
  into.claimMs += p.claimMs;
  into.sealMs += p.sealMs;
  into.addMs += p.addMs;
  into.batchesAhead += p.batchesAhead;
  into.sealedForNothing += p.sealedForNothing;
}

function roundPhases(p: StreamPhases): StreamPhases {
  return { idMs: Math.round(p.idMs), claimMs: Math.round(p.claimMs), sealMs: Math.round(p.sealMs), addMs: Math.round(p.addMs), batchesAhead: p.batchesAhead, sealedForNothing: p.sealedForNothing };
}
