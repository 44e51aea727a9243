/**
 * The lifecycle every backup run shares, whatever the source kind
 * (docs/agent-coordinator.md, "A backup run"):
 *
 *   BeginBackup -> the source's `produce` step writes trees and blobs into a
 *   RemoteBlobSink (chunk, MissingBlobs, seal, UploadBlobs) -> flush (the
 *   upload stream's answer = durable) -> CommitBackup with the root tree.
 *
 * When the coordinator goes away (UNAVAILABLE, DEADLINE_EXCEEDED) the run is
 * resumed: backoff, BeginBackup with resume_run_id, produce again. Blobs made
 * durable before are reported present by MissingBlobs, so nothing is sent
 * twice and nothing acknowledged is lost; if the coordinator no longer knows
 * the run (FAILED_PRECONDITION, NOT_FOUND) a fresh one starts. A commit refused
 * because a blob is not durable (claimed by another run that failed) is
 * retried once on the same run. Any other failure ends the run with AbortBackup.
 *
 * Sources whose input cannot be read twice (a pg_basebackup stream, a BGSAVE)
 * simply produce it again on resume: dedup makes the second pass cheap.
 */
import { PROGRESS_INTERVAL_MS, type v1 } from '@pbk/protocol';
import { decodeTree, type ChunkerOptions, type Tree } from '@pbk/storage';
import type { Dek } from '@pbk/crypto';
import { sleep, type Clock } from '../clock.js';
import { AgentError, codeOf, failureOf, isCoordinatorGone, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunBatch } from '../schedule/run-queue.js';
import { AGENT_VERSION } from '../version.js';
import { Backoff, type BackoffOptions } from '../wire/backoff.js';
import { BatchingBlobReader, downloadFetcher } from '../wire/blob-reader.js';
import type { AgentRpc } from '../wire/client.js';
import { RemoteBlobSink } from '../wire/remote-sink.js';

export type BackupModeName = 'BACKUP_MODE_UNSPECIFIED' | 'BACKUP_MODE_INCREMENTAL' | 'BACKUP_MODE_FULL';

/** Merging two requests for one run: a full wins; "let the coordinator decide" beats a plain incremental. */
export function mergeModes(a: BackupModeName, b: BackupModeName): BackupModeName {
  const rank = { BACKUP_MODE_INCREMENTAL: 0, BACKUP_MODE_UNSPECIFIED: 1, BACKUP_MODE_FULL: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}

export interface BackupDeps {
  rpc: Pick<AgentRpc, 'beginBackup' | 'missingBlobs' | 'uploadBlobs' | 'commitBackup' | 'abortBackup' | 'downloadBlobs' | 'getSnapshot'>;
  clock: Clock;
  log: Logger;
  /** The enrolled host (the coordinator checks it against the certificate). */
  host: string;
  workers: number;
  resumeWindowMs: number;
  backoff?: BackoffOptions;
  /** Hears the repository id-key from BeginBackup (the restore executor needs it). */
  onIdKey?: (key: Buffer) => void;
  /** Called when BeginBackup got through: the coordinator is reachable. */
  onContact?: () => void;
}

/** What a source's produce step gets for one attempt of a run. */
export interface ProduceContext {
  sink: RemoteBlobSink;
  dek: Dek;
  idKey: Buffer;
  chunker: ChunkerOptions;
  /** zstd level the repository asks for; undefined for the archiver's default. */
  zstdLevel: number | undefined;
  /** The parent snapshot an incremental run may trust; undefined for a full run or when there is none. */
  parent: v1.SnapshotInfo__Output | undefined;
  /** Reads a tree of the parent snapshot (undefined without a parent). */
  readTree: ((id: string, where: string) => Promise<Tree>) | undefined;
  /**
   * The newest committed snapshot of this source that `accept`s, looking at
   * most at `maxLooks` snapshots back from the newest, with a reader of its
   * trees for the rest of the attempt; undefined when there is none. For
   * hints (a full run has no parent, yet its previous version is worth
   * knowing). Absent where the run cannot ask (tests of a producer alone).
   */
  findEarlier?: (accept: (s: v1.SnapshotInfo__Output) => boolean, maxLooks: number) => Promise<EarlierSnapshot | undefined>;
  full: boolean;
  signal: AbortSignal;
  log: Logger;
  /** Sets the phase shown in progress reports ("scanning", "dumping", ...). */
  setPhase(phase: string): void;
  /** Extra progress numbers the source knows (bytes of its input read so far, total when known). */
  setInput(bytesDone: number, bytesTotal?: number): void;
}

/** An earlier snapshot of the run's source (ProduceContext.findEarlier). */
export interface EarlierSnapshot {
  snapshot: v1.SnapshotInfo__Output;
  readTree(id: string, where: string): Promise<Tree>;
}

/** What a produce step hands back to be committed. */
export interface Produced {
  tree: string;
  /** The point in time the snapshot represents (default: when the attempt began). */
  timeUnixMs?: number;
  files: number;
  dirs: number;
  totalBytes: number;
  bytesRead: number;
  /** Entries recorded as not backed up. */
  skipped: { path: string; message: string }[];
  paths: string[];
  /** Source-specific facts (PostgreSQL LSNs, Redis key counts, ...), stored with the snapshot. */
  labels: Record<string, string>;
}

export type Produce = (ctx: ProduceContext) => Promise<Produced>;

export interface RunSpec {
  source: v1.SourceRef;
  produce: Produce;
}

/** Runs one backup, resuming across coordinator outages; returns the committed snapshot. */
export async function runBackup(deps: BackupDeps, spec: RunSpec, batch: RunBatch<BackupModeName, v1.Progress>): Promise<v1.SnapshotInfo__Output> {
  const log = deps.log.child({ source: spec.source.name });
  /** When the current outage began: a run resumes for resumeWindowMs from there, however long it ran before. */
  let goneSince: number | undefined;
  const withinWindow = (): boolean => {
    goneSince ??= deps.clock.now();
    return deps.clock.now() - goneSince < deps.resumeWindowMs;
  };
  const backoff = new Backoff(deps.backoff);
  let resumeRunId: Buffer | undefined;
  let commitRetryUsed = false;
  /** The parent handed out when the run began: a coordinator restarted since may no longer know it, but it is still a snapshot to trust. */
  let firstParent: v1.SnapshotInfo__Output | undefined;
  for (;;) {
    throwIfAborted(batch.signal);
    let begin: v1.BeginBackupResponse__Output;
    try {
      begin = await deps.rpc.beginBackup(
        { source: { ...spec.source, host: deps.host }, mode: batch.mode, commandId: batch.commandIds[0] ?? Buffer.alloc(0), resumeRunId: resumeRunId ?? Buffer.alloc(0) },
        batch.signal,
      );
    } catch (err) {
      if (resumeRunId !== undefined && (codeOf(err) === 'FAILED_PRECONDITION' || codeOf(err) === 'NOT_FOUND')) {
        log.warn({ runId: resumeRunId.toString('hex'), err: messageOf(err) }, 'the coordinator no longer has the interrupted run; starting a fresh one');
        resumeRunId = undefined;
        continue;
      }
      if (isCoordinatorGone(err) && !batch.signal.aborted && withinWindow()) {
        const wait = backoff.next();
        log.warn({ err: messageOf(err), retryInMs: wait }, 'coordinator unavailable; retrying BeginBackup');
        await sleep(deps.clock, wait, batch.signal);
        continue;
      }
      throw err;
    }
    deps.onContact?.();
    goneSince = undefined;
    const runId = begin.runId;
    const runLog = log.child({ runId: runId.toString('hex') });
    if (resumeRunId === undefined) firstParent = usableParent(begin.parent);
    else if (usableParent(begin.parent) === undefined && firstParent !== undefined && batch.mode !== 'BACKUP_MODE_FULL') begin = { ...begin, parent: firstParent };
    if (resumeRunId !== undefined) runLog.info({ attempt: backoff.attempts + 1 }, 'resuming backup run');
    try {
      return await attemptRun(deps, spec, batch, begin, runLog);
    } catch (err) {
      if (batch.signal.aborted) {
        await abortRun(deps, runId, { code: 'CANCELLED', message: messageOf(batch.signal.reason ?? err) }, runLog);
        throw batch.signal.reason ?? err;
      }
      if (isCoordinatorGone(err) && withinWindow()) {
        resumeRunId = runId;
        const wait = backoff.next();
        runLog.warn({ err: messageOf(err), retryInMs: wait }, 'coordinator went away during the run; will resume it');
        await sleep(deps.clock, wait, batch.signal).catch(async (e: unknown) => {
          await abortRun(deps, runId, { code: 'CANCELLED', message: messageOf(e) }, runLog);
          throw e;
        });
        continue;
      }
      if (err instanceof CommitRefusedError && !commitRetryUsed) {
        // A blob we were told exists was not durable after all (another run claimed it and failed).
        // The coordinator released those claims: the same run, produced again, asks MissingBlobs again.
        commitRetryUsed = true;
        resumeRunId = runId;
        runLog.warn({ err: messageOf(err) }, 'commit refused; uploading what is missing and committing again');
        continue;
      }
      await abortRun(deps, runId, failureOf(err), runLog);
      throw err;
    }
  }
}

/** CommitBackup refused with FAILED_PRECONDITION: something the tree references is not durable. */
class CommitRefusedError extends AgentError {}

async function attemptRun(
  deps: BackupDeps,
  spec: RunSpec,
  batch: RunBatch<BackupModeName, v1.Progress>,
  begin: v1.BeginBackupResponse__Output,
  log: Logger,
): Promise<v1.SnapshotInfo__Output> {
  const { clock } = deps;
  const runId = begin.runId;
  if (!begin.dek || begin.dek.key.length !== 32 || begin.idKey.length !== 32 || !begin.chunker) {
    throw new AgentError('INTERNAL', 'BeginBackup answered without a DEK, id-key or chunker parameters');
  }
  deps.onIdKey?.(begin.idKey);
  const dek = { id: begin.dek.id, key: begin.dek.key };
  const chunker: ChunkerOptions = {
    minSize: begin.chunker.minSize,
    avgSize: begin.chunker.avgSize,
    maxSize: begin.chunker.maxSize,
    ...(begin.chunker.gearSeed.length > 0 ? { gearSeed: begin.chunker.gearSeed } : {}),
  };
  const parent = usableParent(begin.parent);
  const full = batch.mode === 'BACKUP_MODE_FULL' || parent === undefined;
  const runStarted = clock.now();
  log.info({ mode: batch.mode, full, parent: parent?.id.toString('hex') }, 'backup run started');

  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(batch.signal.reason);
  batch.signal.addEventListener('abort', onOuterAbort, { once: true });
  const sink = new RemoteBlobSink(deps.rpc, runId, { signal: controller.signal });
  const reader = parent
    ? new BatchingBlobReader(downloadFetcher(deps.rpc, parent.id), { idKey: () => begin.idKey, clock, signal: controller.signal })
    : undefined;

  /** Readers of earlier snapshots opened by findEarlier: closed with the attempt. */
  const earlierReaders: BatchingBlobReader[] = [];
  const findEarlier = async (accept: (s: v1.SnapshotInfo__Output) => boolean, maxLooks: number): Promise<EarlierSnapshot | undefined> => {
    const found = await findSnapshotBack(deps, { ...spec.source, host: deps.host }, accept, maxLooks, controller.signal);
    if (found === undefined) return undefined;
    const r = new BatchingBlobReader(downloadFetcher(deps.rpc, found.id), { idKey: () => begin.idKey, clock, signal: controller.signal });
    earlierReaders.push(r);
    return { snapshot: found, readTree: async (id, where) => decodeTree(await r.readBlob(Buffer.from(id, 'hex'), `tree ${where}`), where) };
  };

  let phase = 'scanning';
  let input = { done: 0, total: 0 };
  const report = (): void =>
    batch.progress({
      phase: sink.stats.blobs > 0 && phase === 'scanning' ? 'uploading' : phase,
      bytesDone: input.done > 0 ? input.done : sink.stats.sealedBytes,
      bytesTotal: input.total,
      itemsDone: sink.stats.blobs,
      elapsedMs: clock.now() - runStarted,
    });
  let ticker: ReturnType<Clock['setTimeout']> | undefined;
  const tick = (): void => {
    report();
    ticker = clock.setTimeout(tick, PROGRESS_INTERVAL_MS);
  };
  tick();

  try {
    let produced: Produced;
    try {
      produced = await spec.produce({
        sink,
        dek,
        idKey: begin.idKey,
        chunker,
        zstdLevel: begin.compressionLevel !== 0 ? begin.compressionLevel : undefined,
        parent: full ? undefined : parent,
        readTree: reader && !full ? async (id: string, where: string) => decodeTree(await reader.readBlob(Buffer.from(id, 'hex'), `tree ${where}`), where) : undefined,
        findEarlier,
        full,
        signal: controller.signal,
        log,
        setPhase: (p) => {
          phase = p;
        },
        setInput: (done, total) => {
          input = { done, total: total ?? input.total };
        },
      });
    } catch (err) {
      // The producer reports the sink's failure (the coordinator going away) as its own: keep the cause's code.
      throw controller.signal.aborted ? (controller.signal.reason ?? err) : err;
    }
    const skipped = produced.skipped;
    for (const e of skipped.slice(0, 20)) log.warn({ path: e.path, problem: e.message }, 'not backed up');
    if (skipped.length > 20) log.warn({ more: skipped.length - 20 }, 'more paths not backed up');

    const producedMs = clock.now() - runStarted;
    phase = 'uploading';
    const up = await sink.flush();
    const flushedMs = clock.now() - runStarted;
    phase = 'committing';
    report();
    let commit: v1.CommitBackupResponse__Output;
    try {
      commit = await deps.rpc.commitBackup(
        {
          runId,
          treeRoot: Buffer.from(produced.tree, 'hex'),
          timeUnixMs: produced.timeUnixMs ?? runStarted,
          stats: {
            files: produced.files,
            dirs: produced.dirs,
            totalBytes: produced.totalBytes,
            newBytes: up.rawBytes,
            uploadedBytes: up.sealedBytes,
            newBlobs: up.blobs,
            skipped: skipped.length,
          },
          paths: produced.paths,
          labels: {
            agent_version: AGENT_VERSION,
            bytes_read: String(produced.bytesRead),
            trigger: [...new Set(batch.reasons)].join(',') || 'unknown',
            ...produced.labels,
          },
        },
        batch.signal,
      );
    } catch (err) {
      if (codeOf(err) === 'FAILED_PRECONDITION') throw new CommitRefusedError('FAILED_PRECONDITION', messageOf(err), { cause: err });
      throw err;
    }
    const snap = commit.snapshot;
    if (!snap) throw new AgentError('INTERNAL', 'CommitBackup answered without the snapshot');
    log.info(
      {
        snapshot: snap.id.toString('hex'),
        files: produced.files,
        bytes: produced.totalBytes,
        bytesRead: produced.bytesRead,
        newBlobs: up.blobs,
        uploadedBytes: up.sealedBytes,
        hintedBlobs: up.hinted,
        skipped: skipped.length,
        durationMs: clock.now() - runStarted,
        // Where the time went: produce (read, chunk, seal, send), the last durable ack, the commit; and the waits inside.
        timings: {
          producedMs,
          flushedMs,
          missingCalls: up.missingCalls,
          missingMs: Math.round(up.missingMs),
          drainMs: Math.round(up.drainMs),
          durableMs: Math.round(up.durableMs),
          streams: up.streams,
        },
      },
      'backup committed',
    );
    return snap;
  } catch (err) {
    sink.abort(err);
    throw err;
  } finally {
    if (ticker !== undefined) clock.clearTimeout(ticker);
    batch.signal.removeEventListener('abort', onOuterAbort);
    reader?.close();
    for (const r of earlierReaders) r.close();
    controller.abort(new AgentError('CANCELLED', 'the run ended'));
  }
}

async function abortRun(deps: BackupDeps, runId: Buffer, failure: { code: string; message: string }, log: Logger): Promise<void> {
  try {
    // Not tied to the run's signal: the abort must go out even when the run was cancelled.
    await deps.rpc.abortBackup({ runId, failure });
    log.warn({ code: failure.code, problem: failure.message }, 'backup run aborted');
  } catch (err) {
    log.warn({ code: failure.code, problem: failure.message, abortError: messageOf(err) }, 'backup run failed; AbortBackup did not reach the coordinator (it expires the run itself)');
  }
}

/**
 * Walks back from the newest committed snapshot of `source` (GetSnapshot at
 * a time, each step just before the last one seen) to the first that
 * `accept`s; undefined after `maxLooks` snapshots or when there are no more.
 */
async function findSnapshotBack(
  deps: BackupDeps,
  source: v1.SourceRef,
  accept: (s: v1.SnapshotInfo__Output) => boolean,
  maxLooks: number,
  signal: AbortSignal,
): Promise<v1.SnapshotInfo__Output | undefined> {
  let at = 0; // the newest
  for (let look = 0; look < maxLooks; look++) {
    let snap: v1.SnapshotInfo__Output | null;
    try {
      snap = (await deps.rpc.getSnapshot({ at: { source, timeUnixMs: at } }, signal)).snapshot;
    } catch (err) {
      if (codeOf(err) === 'NOT_FOUND') return undefined;
      throw err;
    }
    if (!snap || snap.treeRoot.length !== 32) return undefined;
    if (accept(snap)) return snap;
    at = Number(snap.timeUnixMs) - 1;
    if (at <= 0) return undefined;
  }
  return undefined;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new AgentError('CANCELLED', 'the run was cancelled');
}

function usableParent(p: v1.SnapshotInfo__Output | null | undefined): v1.SnapshotInfo__Output | undefined {
  return p && p.treeRoot.length === 32 && p.id.length > 0 ? p : undefined;
}
