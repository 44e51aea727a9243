/**
 * The restore executor (RestoreCommand): blobs come through a
 * BatchingBlobReader (DownloadBlobs for the chosen snapshot, each blob opened
 * with its DEK and checked against its id), and restoreSnapshot writes them
 * into target_dir: every file through a temp name + rename, metadata
 * restored, a non-empty target refused without force, names from the trees
 * validated so nothing is ever written outside the target.
 */
import { isAbsolute, normalize } from 'node:path';
import { PROGRESS_INTERVAL_MS, type v1 } from '@pbk/protocol';
import { decodeTree, OpenPool, restoreSnapshot, type RestoreStats, type SnapshotWithId, type Tree } from '@pbk/storage';
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BatchingBlobReader, downloadFetcher, ReadAheadReader } from '../wire/blob-reader.js';
import type { AgentRpc } from '../wire/client.js';

export interface RestoreDeps {
  rpc: Pick<AgentRpc, 'downloadBlobs'>;
  clock: Clock;
  log: Logger;
  idKey: () => Buffer | undefined;
  onIdKey?: (key: Buffer) => void;
}

export interface RestoreRun {
  signal: AbortSignal;
  onProgress?: (p: v1.Progress) => void;
  /** Write restored data back to disk as the restore goes (restoreSnapshot's writeback): see runPitrRestore. */
  writeback?: boolean;
}

type BlobReader = { readBlob(id: Buffer, where?: string): Promise<Buffer> };

/**
 * Blobs come over the network: once the trees are read, the blobs are fetched
 * along the list of files in large DownloadBlobs calls (ReadAheadReader), a
 * bounded number of bytes ahead of the writer. Small on-demand calls (a few
 * files' blobs each) cost the coordinator a snapshot lookup and an audit
 * record per call: with them, bench:files (256 MiB, 2 cores) restored at
 * 24-32 MB/s whatever the file and batch concurrency.
 */
const REMOTE_FILE_CONCURRENCY = 64;
const REMOTE_BATCHES = 8;
const READ_AHEAD = { maxBytesAhead: 64 * 1024 * 1024, batchBytes: 16 * 1024 * 1024, batchesInFlight: 3, writers: REMOTE_FILE_CONCURRENCY };
/** Reads the read-ahead has not reached yet are waited for only this long once the trees are read. */
const BLOB_WINDOW_MS = 2;
/**
 * Trees are read level by level as their parents arrive: a longer window than
 * the reader's default (2 ms) gathers a level's trees into fewer calls (each
 * call costs the coordinator an audit record per key it hands out).
 */
const TREE_WINDOW_MS = 20;

export async function runRestore(deps: RestoreDeps, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  const snap = cmd.snapshot;
  if (!snap || snap.id.length === 0 || snap.treeRoot.length !== 32) throw new AgentError('INVALID_ARGUMENT', 'the restore command names no snapshot (or one without a root tree)');
  if (!cmd.targetDir || !isAbsolute(cmd.targetDir)) throw new AgentError('INVALID_ARGUMENT', `the restore target must be an absolute directory, got ${JSON.stringify(cmd.targetDir)}`);
  const target = normalize(cmd.targetDir);
  const started = deps.clock.now();
  const log = deps.log.child({ snapshot: snap.id.toString('hex'), target });
  log.info({ path: cmd.path || '/', force: cmd.force }, 'restore started');

  // Opening (AES-GCM, zstd, id check) is most of a restore's CPU: on worker threads, the main thread keeps the stream and the writes going.
  const pool = new OpenPool();
  const reader = new BatchingBlobReader(downloadFetcher(deps.rpc, snap.id, deps.onIdKey), {
    idKey: deps.idKey,
    clock: deps.clock,
    signal: run.signal,
    maxConcurrentBatches: REMOTE_BATCHES,
    windowMs: TREE_WINDOW_MS,
    pool,
  });
  const ahead = new ReadAheadReader(reader, READ_AHEAD);
  try {
    const cache = new TreeCache(ahead);
    const whole = cmd.path === '' || cmd.path === '/' || cmd.path === '.';
    // The whole snapshot's size is in its stats; a path inside it is measured by walking its trees first (kept for the restore).
    const total = whole ? { bytes: Number(snap.stats?.totalBytes ?? 0), files: Number(snap.stats?.files ?? 0) } : await measure(cache, snap.treeRoot.toString('hex'), cmd.path);
    let latest: RestoreStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    let lastSent = 0;
    const progress = (force: boolean): void => {
      const now = deps.clock.now();
      if (!force && now - lastSent < PROGRESS_INTERVAL_MS) return;
      lastSent = now;
      run.onProgress?.({
        phase: 'restoring',
        bytesDone: latest.bytes,
        bytesTotal: total.bytes,
        itemsDone: latest.files,
        itemsTotal: total.files,
        elapsedMs: now - started,
      });
    };
    progress(true);
    const stats = await restoreSnapshot(cache, snapshotFor(snap), target, {
      ...(whole ? {} : { path: cmd.path }),
      force: cmd.force,
      writeback: run.writeback ?? false,
      concurrency: REMOTE_FILE_CONCURRENCY,
      // Bounds memory: files x read-ahead blobs (~1 MiB average, 8 MiB at most) may be in flight.
      readAhead: 2,
      onPlan: (files) => {
        reader.setWindow(BLOB_WINDOW_MS);
        ahead.plan(files);
      },
      onProgress: (s) => {
        latest = s;
        progress(false);
      },
    });
    latest = stats;
    progress(true);
    const durationMs = deps.clock.now() - started;
    log.info({ files: stats.files, dirs: stats.dirs, symlinks: stats.symlinks, bytes: stats.bytes, durationMs, downloadCalls: reader.stats.batches }, 'restore finished');
    return { targetDir: target, files: stats.files + stats.symlinks, dirs: stats.dirs, bytes: stats.bytes, durationMs };
  } catch (err) {
    throw run.signal.aborted ? (run.signal.reason ?? err) : err;
  } finally {
    reader.close();
    await pool.close();
  }
}

/**
 * Keeps the trees read while measuring, and hands each to the restore once
 * (then forgets it), so measuring costs no second download.
 */
class TreeCache implements BlobReader {
  private readonly trees = new Map<string, Buffer>();
  constructor(private readonly reader: BlobReader) {}

  async readBlob(id: Buffer, where?: string): Promise<Buffer> {
    const hex = id.toString('hex');
    const hit = this.trees.get(hex);
    if (hit !== undefined) {
      this.trees.delete(hex);
      return hit;
    }
    return this.reader.readBlob(id, where);
  }

  async readTree(hex: string, where: string): Promise<Tree> {
    const plain = await this.reader.readBlob(Buffer.from(hex, 'hex'), `tree ${where}`);
    this.trees.set(hex, plain);
    return decodeTree(plain, where);
  }
}

/** Bytes and files under `path` in the snapshot (0 when it is not there: the restore reports that). */
async function measure(cache: TreeCache, rootHex: string, path: string): Promise<{ bytes: number; files: number }> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let tree = await cache.readTree(rootHex, '/');
  let where = '';
  for (let i = 0; i < parts.length; i++) {
    const entry = tree.entries.find((e) => e.name === parts[i]);
    where = `${where}/${parts[i]}`;
    if (entry === undefined) return { bytes: 0, files: 0 };
    if (i === parts.length - 1) {
      if (entry.type === 'file') return { bytes: entry.size ?? 0, files: 1 };
      if (entry.type !== 'dir') return { bytes: 0, files: 1 };
      return sumTree(cache, entry.subtree!, where);
    }
    if (entry.type !== 'dir') return { bytes: 0, files: 0 };
    tree = await cache.readTree(entry.subtree!, where);
  }
  return { bytes: 0, files: 0 };
}

async function sumTree(cache: TreeCache, hex: string, where: string): Promise<{ bytes: number; files: number }> {
  const tree = await cache.readTree(hex, where);
  const total = { bytes: 0, files: 0 };
  const subs = await Promise.all(
    tree.entries.map(async (e) => {
      if (e.type === 'dir') return sumTree(cache, e.subtree!, `${where}/${e.name}`);
      return { bytes: e.size ?? 0, files: 1 };
    }),
  );
  for (const s of subs) {
    total.bytes += s.bytes;
    total.files += s.files;
  }
  return total;
}

/** restoreSnapshot reads only the root tree id; the rest describes the snapshot for its messages. */
function snapshotFor(info: v1.SnapshotInfo__Output): SnapshotWithId {
  return {
    version: 1,
    id: info.id.toString('hex'),
    time: new Date(Number(info.timeUnixMs)).toISOString(),
    source: { host: info.source?.host ?? '', kind: 'files', name: info.source?.name ?? '' },
    tags: [],
    tree: info.treeRoot.toString('hex'),
    dekId: '',
    paths: [...info.paths],
    summary: { files: 0, dirs: 0, bytesTotal: 0, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, durationMs: 0, errors: [] },
  };
}
