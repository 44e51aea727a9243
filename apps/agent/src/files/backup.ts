/**
 * One backup run of a files source (docs/agent-coordinator.md, "A backup run"):
 *
 *   BeginBackup -> archive `/` through the source's PathSelection into a
 *   RemoteBlobSink (chunk, MissingBlobs, seal, UploadBlobs) -> flush (the
 *   upload stream's answer = durable) -> CommitBackup with the root tree.
 *
 * Incremental runs trust the parent snapshot's size+mtime+inode: its trees
 * come through a BatchingBlobReader (DownloadBlobs, opened with the DEKs the
 * coordinator sends). A full run re-reads everything.
 *
 * When the coordinator goes away (UNAVAILABLE, DEADLINE_EXCEEDED) the run is
 * resumed: backoff, BeginBackup with resume_run_id, archive again. Blobs made
 * durable before are reported present by MissingBlobs, so nothing is sent
 * twice and nothing acknowledged is lost; if the coordinator no longer knows
 * the run (FAILED_PRECONDITION, NOT_FOUND) a fresh one starts. A commit refused
 * because a blob is not durable (claimed by another run that failed) is
 * retried once on the same run. Any other failure ends the run with AbortBackup.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PROGRESS_INTERVAL_MS, type v1 } from '@pbk/protocol';
import { archiveDirectory, decodeTree, type ArchiveResult, type ChunkerOptions } from '@pbk/storage';
import { sleep, type Clock } from '../clock.js';
import type { FilesSourceConfig } from '../config/config.js';
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

export interface FilesBackupDeps {
  rpc: Pick<AgentRpc, 'beginBackup' | 'missingBlobs' | 'uploadBlobs' | 'commitBackup' | 'abortBackup' | 'downloadBlobs'>;
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

/** Runs one backup of a files source, resuming across coordinator outages; returns the committed snapshot. */
export async function runFilesBackup(deps: FilesBackupDeps, source: FilesSourceConfig, batch: RunBatch<BackupModeName, v1.Progress>): Promise<v1.SnapshotInfo__Output> {
  const log = deps.log.child({ source: source.name });
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
        { source: { host: deps.host, kind: 'SOURCE_KIND_FILES', name: source.name }, mode: batch.mode, commandId: batch.commandIds[0] ?? Buffer.alloc(0), resumeRunId: resumeRunId ?? Buffer.alloc(0) },
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
      const snapshot = await attemptRun(deps, source, batch, begin, runLog);
      return snapshot;
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
        // The coordinator released those claims: the same run, archived again, asks MissingBlobs again.
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
  deps: FilesBackupDeps,
  source: FilesSourceConfig,
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
  const scanStart = clock.now();
  const runStarted = clock.now();
  log.info({ mode: batch.mode, full, parent: parent?.id.toString('hex') }, 'backup run started');

  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(batch.signal.reason);
  batch.signal.addEventListener('abort', onOuterAbort, { once: true });
  const sink = new RemoteBlobSink(deps.rpc, runId, { signal: controller.signal });
  const reader = parent
    ? new BatchingBlobReader(downloadFetcher(deps.rpc, parent.id), { idKey: () => begin.idKey, clock, signal: controller.signal })
    : undefined;

  let phase = 'scanning';
  const report = (): void =>
    batch.progress({
      phase: sink.stats.blobs > 0 && phase === 'scanning' ? 'uploading' : phase,
      bytesDone: sink.stats.sealedBytes,
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
    const skipped = await checkPaths(source.paths, log);
    if (skipped.length === source.paths.length) {
      throw new AgentError('NOT_FOUND', `none of the paths of source ${source.name} can be backed up: ${skipped.map((s) => `${s.path} (${s.message})`).join('; ')}`);
    }
    let result: ArchiveResult;
    try {
      result = await archiveDirectory(
        {
          sink,
          dek,
          idKey: begin.idKey,
          chunker,
          ...(reader ? { readTree: async (id: string, where: string) => decodeTree(await reader.readBlob(Buffer.from(id, 'hex'), `tree ${where}`), where) } : {}),
        },
        '/',
        full ? undefined : parent?.treeRoot.toString('hex'),
        { full, exclude: source.selection.archiveExclude, workers: deps.workers, ...(begin.compressionLevel > 0 ? { zstdLevel: begin.compressionLevel } : {}) },
      );
    } catch (err) {
      // The archiver reports the sink's failure (the coordinator going away) as its own: keep the cause's code.
      throw controller.signal.aborted ? (controller.signal.reason ?? err) : err;
    }
    const errors = [...skipped, ...result.summary.errors];
    for (const e of errors.slice(0, 20)) log.warn({ path: e.path, problem: e.message }, 'not backed up');
    if (errors.length > 20) log.warn({ more: errors.length - 20 }, 'more paths not backed up');

    phase = 'uploading';
    const up = await sink.flush();
    phase = 'committing';
    report();
    let commit: v1.CommitBackupResponse__Output;
    try {
      commit = await deps.rpc.commitBackup(
        {
          runId,
          treeRoot: Buffer.from(result.tree, 'hex'),
          timeUnixMs: scanStart,
          stats: {
            files: result.summary.files,
            dirs: result.summary.dirs,
            totalBytes: result.summary.bytesTotal,
            newBytes: up.rawBytes,
            uploadedBytes: up.sealedBytes,
            newBlobs: up.blobs,
            skipped: errors.length,
          },
          paths: [...source.paths],
          labels: {
            agent_version: AGENT_VERSION,
            bytes_read: String(result.summary.bytesRead),
            trigger: [...new Set(batch.reasons)].join(',') || 'unknown',
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
        files: result.summary.files,
        bytes: result.summary.bytesTotal,
        bytesRead: result.summary.bytesRead,
        newBlobs: up.blobs,
        uploadedBytes: up.sealedBytes,
        skipped: errors.length,
        durationMs: clock.now() - runStarted,
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
    controller.abort(new AgentError('CANCELLED', 'the run ended'));
  }
}

/**
 * Configured paths that cannot be backed up as configured: missing, or below
 * a symlinked directory (the archiver stores links, it never follows them, so
 * the path would silently be absent). They are recorded as skipped.
 */
async function checkPaths(paths: readonly string[], log: Logger): Promise<{ path: string; message: string }[]> {
  const out: { path: string; message: string }[] = [];
  for (const p of paths) {
    if (p === '/') continue;
    try {
      await lstat(p);
      const parent = dirname(p);
      const real = await realpath(parent);
      if (real !== parent) out.push({ path: p, message: `${parent} resolves to ${real} (a symlink on the way); configure the real path` });
    } catch (err) {
      out.push({ path: p, message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot stat: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}` });
    }
  }
  if (out.length > 0) log.debug({ skipped: out.length }, 'configured paths skipped');
  return out;
}

async function abortRun(deps: FilesBackupDeps, runId: Buffer, failure: { code: string; message: string }, log: Logger): Promise<void> {
  try {
    // Not tied to the run's signal: the abort must go out even when the run was cancelled.
    await deps.rpc.abortBackup({ runId, failure });
    log.warn({ code: failure.code, problem: failure.message }, 'backup run aborted');
  } catch (err) {
    log.warn({ code: failure.code, problem: failure.message, abortError: messageOf(err) }, 'backup run failed; AbortBackup did not reach the coordinator (it expires the run itself)');
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new AgentError('CANCELLED', 'the run was cancelled');
}

function usableParent(p: v1.SnapshotInfo__Output | null | undefined): v1.SnapshotInfo__Output | undefined {
  return p && p.treeRoot.length === 32 && p.id.length > 0 ? p : undefined;
}
