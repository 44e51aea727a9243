import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, lutimes, mkdir, open, readdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageError, UnsafePathError } from '../errors.js';
import type { Repository } from '../repository/index.js';
import { checkEntryName, joinTreePath, loadTree, type SnapshotWithId, type Tree, type TreeEntry } from '../snapshot/index.js';
import { limiter } from '../util/limit.js';

export interface RestoreOptions {
  /** Restore only this path inside the snapshot ('/'-separated, relative to its root). */
  path?: string;
  /** Allow a target that is not empty (existing files are replaced; existing symlinks in the way are refused). */
  force?: boolean;
  /** Restore uid/gid (default: when running as root, as tar does). */
  owners?: boolean;
  /** Files written at once. */
  concurrency?: number;
  /** Blobs read ahead per file, overlapping decryption with writing. */
  readAhead?: number;
  onProgress?: (p: RestoreStats) => void;
  /**
   * Hears, once every tree is read and before any file is written, the files
   * in the order they will be written (each file's blobs in order): a reader
   * that fetches over a network can fetch ahead in large batches.
   */
  onPlan?: (files: readonly PlannedFile[]) => void;
  /**
   * fsync every restored file before it is renamed into place. Off by default, as in
   * restic and tar: a per-file fsync made restores of many small files several times
   * slower, and PostgreSQL fsyncs its data directory itself when recovery starts.
   */
  fsync?: boolean;
  /**
   * Have the kernel write restored data to disk while the restore goes on
   * (a background fdatasync every WRITEBACK_BYTES of a file, WRITEBACK_AT_ONCE
   * at a time), so that whoever syncs it next finds little left to write:
   * PostgreSQL fsyncs its whole data directory when recovery starts, and with
   * ~1 GB still dirty that took 0.5-1.5 s before replay began. Not a
   * durability promise (small files and each file's tail may still be dirty).
   */
  writeback?: boolean;
}

/** See RestoreOptions.writeback. */
const WRITEBACK_BYTES = 32 * 1024 * 1024;
/** fdatasync holds a libuv thread (4 by default) until the disk is done: more at once would stall the writes. */
const WRITEBACK_AT_ONCE = 1;

export interface RestoreStats {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

/** A file the restore will write: its blob ids (hex), size, and path in the snapshot (for messages). */
export interface PlannedFile {
  content: readonly string[];
  size: number;
  where: string;
}

type BlobReader = Pick<Repository, 'readBlob'>;

/** What the walk of a tree found, in the order it is restored (files in tree order, directories children first). */
interface Walked {
  files: { dir: string; entry: TreeEntry; where: string }[];
  links: { dir: string; entry: TreeEntry }[];
  dirs: { path: string; entry: TreeEntry }[];
}

/**
 * Writes a snapshot (or a path inside it) into `target`. Every name comes from
 * an untrusted tree: names are validated by decodeTree, every directory we
 * descend into is one we created or checked is a real directory (never a
 * symlink), and files land through a temp name + rename, so nothing is ever
 * written outside `target`.
 */
export async function restoreSnapshot(repo: BlobReader, snapshot: SnapshotWithId, targetDir: string, options: RestoreOptions = {}): Promise<RestoreStats> {
  const target = resolve(targetDir);
  await prepareTarget(target, options.force ?? false);
  const owners = options.owners ?? process.getuid?.() === 0;
  const stats: RestoreStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const fileLimit = limiter(options.concurrency ?? 16);
  const readAhead = options.readAhead ?? 4;
  let flushing = 0;

  // A file is written under a temp name (O_EXCL, which never follows a symlink) and renamed
  // into place, so nobody ever sees a torn file under its real name. Metadata is set on the
  // open handle, sparing a path lookup per call.
  const writeFile = async (dir: string, e: TreeEntry, where: string): Promise<void> => {
    const final = join(dir, e.name);
    const path = join(dir, `.pbk-restore-${randomBytes(8).toString('hex')}`);
    const fh = await open(path, 'wx', e.mode & 0o777);
    let written = 0;
    let flushedTo = 0;
    let flush: Promise<void> | undefined;
    try {
      const ids = e.content ?? [];
      const inflight: Promise<Buffer>[] = [];
      let next = 0;
      const fill = () => {
        while (next < ids.length && inflight.length < readAhead) {
          const p = repo.readBlob(Buffer.from(ids[next++]!, 'hex'), `file ${where}`);
          p.catch(() => {}); // observed below; avoid an unhandled rejection while queued
          inflight.push(p);
        }
      };
      fill();
      while (inflight.length > 0) {
        const data = await inflight.shift()!;
        fill();
        await fh.write(data, 0, data.length, written);
        written += data.length;
        if (options.writeback && flush === undefined && flushing < WRITEBACK_AT_ONCE && written - flushedTo >= WRITEBACK_BYTES) {
          // Not awaited: the writes go on while the disk catches up (awaited before the handle closes).
          flushedTo = written;
          flushing++;
          flush = fh.datasync().finally(() => {
            flushing--;
            flush = undefined;
          });
          flush.catch(() => undefined);
        }
      }
      await flush;
      if (written !== e.size) throw new StorageError('CORRUPT', `restored ${where} has ${written} bytes, its tree entry says ${e.size}`);
      if (owners && (e.uid !== myUid || e.gid !== myGid)) await fh.chown(e.uid, e.gid);
      // chmod after chown (chown clears setuid/setgid), and only when umask clipped the mode.
      if ((e.mode & ~0o777) !== 0 || (e.mode & umask) !== 0) await fh.chmod(e.mode);
      const mtime = mtimeSeconds(e);
      await fh.utimes(mtime, mtime);
      if (options.fsync) await fh.sync();
    } catch (err) {
      await flush?.catch(() => undefined);
      await fh.close().catch(() => {});
      await rm(path, { force: true });
      throw err;
    }
    await fh.close();
    await rename(path, final);
    stats.files++;
    stats.bytes += written;
    options.onProgress?.(stats);
  };

  const writeSymlink = async (dir: string, e: TreeEntry): Promise<void> => {
    const tmp = join(dir, `.pbk-restore-${randomBytes(8).toString('hex')}`);
    await symlink(e.target!, tmp);
    await applyMeta(tmp, e, owners, true);
    await rename(tmp, join(dir, e.name));
    stats.symlinks++;
  };

  // First every tree (read in parallel, directories created), so the whole list of files is
  // known before the first is written: a remote reader fetches ahead along it (onPlan).
  const walk = async (dir: string, tree: Tree, where: string): Promise<Walked> => {
    const out: Walked = { files: [], links: [], dirs: [] };
    const subdirs: Promise<{ walked: Walked; path: string; entry: TreeEntry }>[] = [];
    for (const e of tree.entries) {
      const path = joinTreePath(where, e.name);
      if (e.type === 'dir') {
        subdirs.push(
          (async () => {
            // Asked for at once, so a directory's subtrees share one read (a remote reader batches them).
            const [child, subtree] = await Promise.all([makeDir(dir, e.name, path), loadTree(repo, e.subtree!, path)]);
            return { walked: await walk(child, subtree, path), path: child, entry: e };
          })(),
        );
      } else if (e.type === 'file') {
        out.files.push({ dir, entry: e, where: path });
      } else {
        out.links.push({ dir, entry: e });
      }
    }
    for (const sub of await settleAll(subdirs)) {
      out.files.push(...sub.walked.files);
      out.links.push(...sub.walked.links);
      out.dirs.push(...sub.walked.dirs, { path: sub.path, entry: sub.entry });
    }
    return out;
  };

  const restoreWalked = async (w: Walked): Promise<void> => {
    options.onPlan?.(w.files.map((f) => ({ content: f.entry.content ?? [], size: f.entry.size ?? 0, where: f.where })));
    await settleAll([...w.files.map((f) => fileLimit(() => writeFile(f.dir, f.entry, f.where))), ...w.links.map((l) => writeSymlink(l.dir, l.entry))]);
    // Directory metadata last (writing children changes a directory's mtime), deepest first: a
    // parent's mode may forbid entering it (e.g. 0600), so it is set after all of its children's.
    const byDepth = new Map<number, Walked['dirs']>();
    for (const d of w.dirs) {
      const depth = d.path.split('/').length;
      const level = byDepth.get(depth);
      if (level) level.push(d);
      else byDepth.set(depth, [d]);
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      await settleAll(
        byDepth.get(depth)!.map((d) =>
          fileLimit(async () => {
            await applyMeta(d.path, d.entry, owners, false);
            stats.dirs++;
          }),
        ),
      );
    }
  };

  const root = await loadTree(repo, snapshot.tree, '/');
  if (!options.path || options.path === '/' || options.path === '.') {
    await restoreWalked(await walk(target, root, '/'));
    return stats;
  }
  const { entry, where } = await findPath(repo, root, options.path);
  if (entry.type === 'dir') {
    const child = await makeDir(target, entry.name, where);
    const w = await walk(child, await loadTree(repo, entry.subtree!, where), where);
    w.dirs.push({ path: child, entry });
    await restoreWalked(w);
  } else if (entry.type === 'file') {
    options.onPlan?.([{ content: entry.content ?? [], size: entry.size ?? 0, where }]);
    await writeFile(target, entry, where);
  } else {
    await writeSymlink(target, entry);
  }
  return stats;
}

/** Waits for every promise (no write is left running behind our back), then throws the first error. */
async function settleAll<T>(ps: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

async function prepareTarget(target: string, force: boolean): Promise<void> {
  await mkdir(target, { recursive: true, mode: 0o700 });
  const st = await lstat(target);
  if (!st.isDirectory()) throw new StorageError('INVALID_ARGUMENT', `restore target ${target} is not a directory`);
  if (!force && (await readdir(target)).length > 0) {
    throw new StorageError('FAILED_PRECONDITION', `restore target ${target} is not empty; choose an empty directory or pass --force to overwrite`);
  }
}

/** Creates (or, with --force, reuses) a directory entry and proves it is a real directory, not a symlink. */
async function makeDir(parent: string, name: string, where: string): Promise<string> {
  checkEntryName(name, where);
  const path = join(parent, name);
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await lstat(path);
  if (!st.isDirectory()) throw new UnsafePathError(where, 'something that is not a directory (a symlink?) is in the way in the target; remove it or restore into an empty directory');
  return path;
}

async function findPath(repo: BlobReader, root: Tree, path: string): Promise<{ entry: TreeEntry; where: string }> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let tree = root;
  let where = '/';
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i]!;
    checkEntryName(name, where);
    const entry = tree.entries.find((e) => e.name === name);
    where = joinTreePath(where, name);
    if (!entry) throw new StorageError('NOT_FOUND', `path ${where} is not in the snapshot`);
    if (i === parts.length - 1) return { entry, where };
    if (entry.type !== 'dir') throw new StorageError('NOT_FOUND', `path ${where} is not a directory in the snapshot`);
    tree = await loadTree(repo, entry.subtree!, where);
  }
  throw new StorageError('INVALID_ARGUMENT', `restore path ${JSON.stringify(path)} names nothing; use / for everything`);
}

const myUid = process.getuid?.();
const myGid = process.getgid?.();
/** Read once (without changing it) to know when a created file's mode needs a chmod. */
const umask = (() => {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
})();

function mtimeSeconds(e: TreeEntry): number {
  return Number(BigInt(e.mtimeNs) / 1000n) / 1e6;
}

async function applyMeta(path: string, e: TreeEntry, owners: boolean, isLink: boolean): Promise<void> {
  // New files already belong to us: chown only when the entry says otherwise (a syscall saved per file).
  if (owners && (e.uid !== myUid || e.gid !== myGid)) await lchown(path, e.uid, e.gid);
  // chmod after chown: chown clears setuid/setgid bits.
  if (!isLink) await chmod(path, e.mode);
  const mtime = mtimeSeconds(e);
  if (isLink) await lutimes(path, mtime, mtime);
  else await utimes(path, mtime, mtime);
}
