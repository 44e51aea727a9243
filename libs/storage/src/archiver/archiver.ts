import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dek } from '@pbk/crypto';
import type { ChunkerOptions } from '../chunker/index.js';
import { DEFAULT_ZSTD_LEVEL } from '../compress/zstd.js';
import { StorageError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { compareNames, findSnapshot, loadTree, saveSnapshot, saveTree, type BlobSink, type SnapshotSummary, type SnapshotWithId, type SourceRef, type Tree, type TreeEntry } from '../snapshot/index.js';
import { ChunkWorkerPool } from './worker-pool.js';

export interface ArchiveOptions {
  /** Re-read every file ("full"); otherwise files whose size, mtime and inode match the parent's are reused. */
  full?: boolean;
  /** Paths relative to the root ('/'-separated) to leave out. */
  exclude?: (relPath: string, isDir: boolean) => boolean;
  workers?: number;
  zstdLevel?: number;
}

export interface ArchiveContext {
  sink: BlobSink;
  dek: Dek;
  idKey: Buffer;
  chunker: ChunkerOptions;
  /** Loads a tree of the parent snapshot (for skipping unchanged files). */
  readTree?: (id: string, where: string) => Promise<Tree>;
}

export interface ArchiveResult {
  tree: string;
  summary: Omit<SnapshotSummary, 'durationMs'>;
}

/**
 * Turns a directory into trees and blobs in `ctx.sink`. Works the same whether
 * the sink is the local repository or the coordinator (agent).
 */
export async function archiveDirectory(ctx: ArchiveContext, root: string, parentTree: string | undefined, options: ArchiveOptions = {}): Promise<ArchiveResult> {
  const rootStat = await lstat(root).catch((err: NodeJS.ErrnoException) => {
    throw new StorageError('NOT_FOUND', `cannot read backup source ${root}: ${err.code ?? err.message}`, { cause: err });
  });
  if (!rootStat.isDirectory()) throw new StorageError('INVALID_ARGUMENT', `backup source ${root} is not a directory`);
  const pool = new ChunkWorkerPool({ chunker: ctx.chunker, idKey: ctx.idKey, dekId: ctx.dek.id, dekKey: ctx.dek.key, zstdLevel: options.zstdLevel ?? DEFAULT_ZSTD_LEVEL }, ctx.sink, { workers: options.workers });
  const summary: ArchiveResult['summary'] = { files: 0, dirs: 0, bytesTotal: 0, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, errors: [] };

  const readParent = async (id: string | undefined, where: string): Promise<Map<string, TreeEntry>> => {
    if (!id || !ctx.readTree || options.full) return new Map();
    try {
      return new Map((await ctx.readTree(id, where)).entries.map((e) => [e.name, e]));
    } catch {
      return new Map(); // an unreadable parent only costs re-reading
    }
  };

  const archiveDir = async (abs: string, rel: string, parentId: string | undefined): Promise<string> => {
    const parent = await readParent(parentId, rel || '/');
    let names: string[];
    try {
      names = readdirSync(abs); // sync, like lstat below: microseconds from the page cache
    } catch (err) {
      if (rel === '') throw err;
      summary.errors.push({ path: rel, message: `cannot list directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      names = [];
    }
    const entries: TreeEntry[] = [];
    await Promise.all(
      names.map(async (name) => {
        const childAbs = join(abs, name);
        const childRel = rel ? `${rel}/${name}` : name;
        // lstat synchronously: from the page cache it takes microseconds, while a trip through
        // libuv's thread pool per entry made it the main thread's largest cost.
        let st;
        try {
          st = lstatSync(childAbs, { bigint: true });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          summary.errors.push({ path: childRel, message: code === 'ENOENT' ? 'vanished before it was read' : `cannot stat: ${code ?? (err as Error).message}` });
          return;
        }
        if (options.exclude?.(childRel, st.isDirectory())) return;
        const base = { name, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString(), inode: st.ino.toString() };
        const prev = parent.get(name);
        if (st.isDirectory()) {
          const subtree = await archiveDir(childAbs, childRel, prev?.type === 'dir' ? prev.subtree : undefined);
          summary.dirs++;
          entries.push({ ...base, type: 'dir', subtree });
        } else if (st.isSymbolicLink()) {
          try {
            entries.push({ ...base, type: 'symlink', target: readlinkSync(childAbs) });
          } catch (err) {
            summary.errors.push({ path: childRel, message: `cannot read link: ${(err as NodeJS.ErrnoException).code}` });
          }
        } else if (st.isFile()) {
          const size = Number(st.size);
          if (prev?.type === 'file' && prev.size === size && prev.mtimeNs === base.mtimeNs && prev.inode === base.inode && prev.content) {
            entries.push({ ...base, type: 'file', size, content: prev.content });
            summary.files++;
            summary.bytesTotal += size;
            return;
          }
          const r = await pool.processFile({ path: childAbs, size, mtimeNs: base.mtimeNs });
          if (r.error || !r.content) {
            summary.errors.push({ path: childRel, message: r.error ?? 'no content' });
            return;
          }
          entries.push({ ...base, ...(r.mtimeNs ? { mtimeNs: r.mtimeNs } : {}), type: 'file', size: r.size!, content: r.content });
          summary.files++;
          summary.bytesTotal += r.size!;
        } else {
          summary.errors.push({ path: childRel, message: 'skipped: not a regular file, directory or symlink' });
        }
      }),
    );
    entries.sort((a, b) => compareNames(a.name, b.name));
    const saved = await saveTree(ctx.sink, ctx.dek, ctx.idKey, { entries });
    if (saved.storedBytes > 0) {
      summary.blobsNew++;
      summary.bytesNewStored += saved.storedBytes;
    }
    return saved.id;
  };

  try {
    const tree = await archiveDir(root, '', parentTree);
    summary.bytesRead = pool.stats.bytesRead;
    summary.blobsNew += pool.stats.blobsNew;
    summary.bytesNewStored += pool.stats.bytesNewStored;
    return { tree, summary };
  } finally {
    await pool.close();
  }
}

export interface BackupDirectoryOptions extends ArchiveOptions {
  source: SourceRef;
  tags?: string[];
  /** The snapshot to compare against; by default the newest one of the same source. */
  parent?: SnapshotWithId | null;
  meta?: Record<string, unknown>;
}

/** A whole local backup run: fresh DEK, archive, flush (packs, index), then the snapshot. */
export async function backupDirectory(repo: Repository, root: string, options: BackupDirectoryOptions): Promise<SnapshotWithId> {
  const started = Date.now();
  const parent = options.parent === undefined ? await findSnapshot(repo, options.source).catch(() => undefined) : options.parent ?? undefined;
  const dek = await repo.keys.newDek();
  let result: ArchiveResult;
  try {
    result = await archiveDirectory(
      { sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, readTree: (id, where) => loadTree(repo, id, where) },
      root,
      parent?.tree,
      options,
    );
    await repo.flush();
  } catch (err) {
    repo.abandonWrites();
    throw err;
  }
  const snapshot = {
    version: 1 as const,
    time: repo.now().toISOString(),
    source: options.source,
    tags: options.tags ?? [],
    tree: result.tree,
    dekId: dek.id.toString('hex'),
    ...(parent ? { parent: parent.id } : {}),
    paths: [root],
    summary: { ...result.summary, durationMs: Date.now() - started },
    ...(options.meta ? { meta: options.meta } : {}),
  };
  const id = await saveSnapshot(repo, snapshot);
  return { ...snapshot, id };
}
