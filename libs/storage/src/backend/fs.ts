import { randomBytes } from 'node:crypto';
import { existsSync, type Dirent } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BackendPermissionError,
  CancelledError,
  NoSpaceError,
  NotFoundError,
  StorageError,
  TransientBackendError,
} from '../errors.js';
import type { Backend, ByteRange, ObjectInfo, OpOptions } from './backend.js';
import { clampRange, isValidSegment, validateName, validatePrefix, validateRange } from './names.js';
import { raceAbort, throwIfAborted } from './signals.js';
import { readableFromChunks } from './streams.js';

export interface LocalBackendOptions {
  /** Mode of object files. Default 0o600: only the coordinator's user reads the repository. */
  fileMode?: number;
  /** Mode of directories created on demand. Default 0o700, for the same reason. */
  dirMode?: number;
  /**
   * fsync each file and directory entry before a put or delete resolves. Default true:
   * without it a put that resolved can vanish on power loss (decision 2). Turn off only
   * for throwaway repositories.
   */
  fsync?: boolean;
  /**
   * Objects under these prefixes never change once written (packs are named by their
   * hash), so their read handles can be kept open between gets: a restore reads
   * thousands of blobs from the same few packs. Default ['data/'].
   */
  immutablePrefixes?: string[];
}

/** Read handles kept open at most, and for how long unused. */
const MAX_CACHED_HANDLES = 32;
const HANDLE_IDLE_MS = 2000;

interface CachedHandle {
  file: Promise<{ handle: FileHandle; size: number }>;
  lastUsed: number;
  users: number;
}

/** Temp files live next to their target so the final rename never crosses a filesystem. */
const TEMP_PREFIX = '.tmp-';
const TEMP_NAME = /^\.tmp-[0-9a-f]+$/;
/** A Buffer put is written in slices of this size so an abort is noticed between them. */
const WRITE_SLICE = 8 << 20;
/** Chunk size of createReadStream and of the reads behind get. */
const READ_CHUNK = 1 << 20;
/** Files stat'ed at once while listing: enough to hide latency, few enough to spare the disk. */
const STAT_BATCH = 64;

/**
 * errno codes that describe a passing condition, retried by RetryingBackend:
 * - EAGAIN/EWOULDBLOCK, EINTR: "try again" by definition.
 * - EBUSY: a file or device momentarily held by someone else (network filesystems, antivirus).
 * - EMFILE/ENFILE: descriptors run out under a burst of parallel work and come back as
 *   other operations close theirs; the retry budget bounds the cost if it is a leak.
 * - ETIMEDOUT, ESTALE: an NFS/SMB server that did not answer in time, or a handle gone stale
 *   after a failover; a fresh attempt reopens by path.
 * Not EIO: it reports a failing disk or lost block device; retrying would hide the failure
 * from the operator, and after a failed fsync the kernel may already have dropped the data.
 */
const TRANSIENT_ERRNO = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'ESTALE']);

/** What the operation was doing, so ENOENT and friends can mean the right thing. */
type FsOp = 'put' | 'get' | 'stat' | 'list' | 'delete' | 'createReadStream' | 'removeStaleTemp';

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Classifies a filesystem error into the typed StorageErrors every backend reports. */
export function classifyFsError(err: unknown, objectName: string, op: FsOp): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  const cause = { cause: err };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      // On the write path the name's folders are created first, so a missing piece means
      // something else removed it or a file sits where a folder must be.
      if (op === 'put') {
        return new StorageError('FAILED_PRECONDITION', `put ${objectName}: its path is blocked (${code}): a folder on it vanished, a file stands where a folder must be, or a folder has the object's name`, cause);
      }
      return new NotFoundError(objectName, cause);
    case 'ENOSPC':
    case 'EDQUOT':
      return new NoSpaceError(objectName, cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new BackendPermissionError(objectName, cause);
    case 'ENAMETOOLONG':
      return new StorageError('INVALID_ARGUMENT', `${op} ${objectName}: the path is too long for this filesystem`, cause);
    case 'EIO':
      return new StorageError('INTERNAL', `I/O error during ${op} of ${objectName}: the repository's disk or its connection is failing; check the kernel log (dmesg) before retrying`, cause);
    default:
      if (code !== undefined && TRANSIENT_ERRNO.has(code)) {
        return new TransientBackendError(`${op} ${objectName} failed for a passing reason (${code}): ${messageOf(err)}`, cause);
      }
      return new StorageError('INTERNAL', `${op} ${objectName} failed: ${messageOf(err)}`, cause);
  }
}

/** Marks an error thrown by a put's data source, so it is not mistaken for one of ours. */
class SourceFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Objects as files under a root directory: `data/3f/3fa9...` is `<root>/data/3f/3fa9...`.
 *
 * put writes `<dir>/.tmp-<random hex>`, fsyncs it, renames it over the final name and fsyncs
 * the directory, so a crash leaves either the old object, the new one, or an unlisted temp
 * file that removeStaleTemp clears. One writer per repository (decision 5) means no locks.
 */
export class LocalBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  private readonly fileMode: number;
  private readonly dirMode: number;
  private readonly fsync: boolean;
  private readonly immutablePrefixes: string[];
  /**
   * A root missing from the start is created on the first put (a new repository); a root that
   * existed and then vanished is never recreated: that is an unmounted volume, and writing on
   * would fill the mount point's parent disk silently.
   */
  private readonly rootExisted: boolean;

  constructor(root: string, options: LocalBackendOptions = {}) {
    this.root = resolve(root);
    this.location = this.root;
    this.fileMode = options.fileMode ?? 0o600;
    this.dirMode = options.dirMode ?? 0o700;
    this.fsync = options.fsync ?? true;
    this.immutablePrefixes = options.immutablePrefixes ?? ['data/'];
    this.rootExisted = existsSync(this.root);
  }

  async put(name: string, data: Buffer | AsyncIterable<Buffer>, options: OpOptions = {}): Promise<void> {
    validateName(name);
    const { signal } = options;
    const what = `put ${name}`;
    throwIfAborted(signal, what);
    if (!(data instanceof Uint8Array) && typeof (data as Partial<AsyncIterable<Buffer>> | null)?.[Symbol.asyncIterator] !== 'function') {
      throw new StorageError('INVALID_ARGUMENT', `${what}: data must be a Buffer or an AsyncIterable<Buffer>`);
    }
    const target = this.pathOf(name);
    const dir = dirname(target);
    const temp = join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    let file: FileHandle | undefined;
    let renamed = false;
    try {
      file = await this.openTemp(temp, name);
      if (data instanceof Uint8Array) await writeAt(file, data, 0, signal, what);
      else await writeSource(file, data, signal, what);
      if (this.fsync) await file.sync();
      await file.close();
      file = undefined;
      // Last point where an abort can still leave no object behind.
      throwIfAborted(signal, what);
      await rename(temp, target);
      renamed = true;
      if (this.fsync) await syncDir(dir);
    } catch (err) {
      if (file) await file.close().catch(() => undefined);
      if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
      throw failure(err, name, 'put', signal);
    }
  }

  async get(name: string, range?: ByteRange, options: OpOptions = {}): Promise<Buffer> {
    validateName(name);
    validateRange(range);
    const { signal } = options;
    const what = `get ${name}`;
    throwIfAborted(signal, what);
    if (this.immutablePrefixes.some((p) => name.startsWith(p))) return this.getCached(name, range, signal);
    let file: FileHandle | undefined;
    try {
      file = await open(this.pathOf(name), 'r');
      const info = await file.stat();
      // A folder is not an object, whatever open() thinks of it.
      if (!info.isFile()) throw new NotFoundError(name);
      const { offset, length } = clampRange(range, info.size);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        throwIfAborted(signal, what);
        const { bytesRead } = await file.read(out, done, Math.min(length - done, 8 * READ_CHUNK), offset + done);
        if (bytesRead === 0) throw new StorageError('INTERNAL', `${name} shrank while being read; objects are replaced by rename, so something else truncated it`);
        done += bytesRead;
      }
      return out;
    } catch (err) {
      throw failure(err, name, 'get', signal);
    } finally {
      await file?.close().catch(() => undefined);
    }
  }

  private readonly handles = new Map<string, CachedHandle>();
  private sweeper: NodeJS.Timeout | undefined;

  /** A ranged read through a kept-open handle (immutable objects only). */
  private async getCached(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Buffer> {
    let entry = this.handles.get(name);
    if (!entry) {
      const file = (async () => {
        const handle = await open(this.pathOf(name), 'r');
        const info = await handle.stat().catch(async (err: unknown) => {
          await handle.close().catch(() => undefined);
          throw err;
        });
        if (!info.isFile()) {
          await handle.close().catch(() => undefined);
          throw new NotFoundError(name);
        }
        return { handle, size: info.size };
      })();
      entry = { file, lastUsed: Date.now(), users: 0 };
      this.handles.set(name, entry);
      this.evictHandles();
    }
    entry.users++;
    entry.lastUsed = Date.now();
    try {
      const { handle, size } = await entry.file;
      const { offset, length } = clampRange(range, size);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        throwIfAborted(signal, `get ${name}`);
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new StorageError('INTERNAL', `${name} shrank while being read; objects are replaced by rename, so something else truncated it`);
        done += bytesRead;
      }
      return out;
    } catch (err) {
      this.dropHandle(name, entry);
      throw failure(err, name, 'get', signal);
    } finally {
      entry.users--;
    }
  }

  private evictHandles(): void {
    // Oldest first (Map keeps insertion order); never close a handle a read is using.
    for (const [name, e] of this.handles) {
      if (this.handles.size <= MAX_CACHED_HANDLES) break;
      if (e.users === 0) this.dropHandle(name, e);
    }
    if (!this.sweeper && this.handles.size > 0) {
      this.sweeper = setInterval(() => {
        const now = Date.now();
        for (const [name, e] of this.handles) if (e.users === 0 && now - e.lastUsed > HANDLE_IDLE_MS) this.dropHandle(name, e);
        if (this.handles.size === 0) {
          clearInterval(this.sweeper);
          this.sweeper = undefined;
        }
      }, HANDLE_IDLE_MS);
      this.sweeper.unref();
    }
  }

  /** Closes the kept-open read handles (a volume cannot be unmounted while they are open). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const entries = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(entries.map((e) => e.file.then(({ handle }) => handle.close()).catch(() => undefined)));
  }

  private dropHandle(name: string, entry: CachedHandle): void {
    if (this.handles.get(name) === entry) this.handles.delete(name);
    void entry.file.then(({ handle }) => handle.close()).catch(() => undefined);
  }

  createReadStream(name: string, range?: ByteRange, options: OpOptions = {}): Readable {
    const { signal } = options;
    const what = `createReadStream ${name}`;
    const path = (): string => this.pathOf(name);
    async function* chunks(): AsyncGenerator<Buffer> {
      let file: FileHandle | undefined;
      try {
        validateName(name);
        validateRange(range);
        throwIfAborted(signal, what);
        file = await open(path(), 'r');
        const info = await file.stat();
        if (!info.isFile()) throw new NotFoundError(name);
        const { offset, length } = clampRange(range, info.size);
        let done = 0;
        while (done < length) {
          throwIfAborted(signal, what);
          const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, length - done));
          const { bytesRead } = await file.read(chunk, 0, chunk.length, offset + done);
          if (bytesRead === 0) throw new StorageError('INTERNAL', `${name} shrank while being read; objects are replaced by rename, so something else truncated it`);
          done += bytesRead;
          yield chunk.subarray(0, bytesRead);
        }
      } catch (err) {
        throw failure(err, name, 'createReadStream', signal);
      } finally {
        await file?.close().catch(() => undefined);
      }
    }
    return readableFromChunks(chunks(), signal, what);
  }

  async stat(name: string, options: OpOptions = {}): Promise<ObjectInfo> {
    validateName(name);
    throwIfAborted(options.signal, `stat ${name}`);
    try {
      const info = await stat(this.pathOf(name));
      if (!info.isFile()) throw new NotFoundError(name);
      return { name, size: info.size, modified: info.mtime };
    } catch (err) {
      throw failure(err, name, 'stat', options.signal);
    }
  }

  async *list(prefix: string, options: OpOptions = {}): AsyncGenerator<ObjectInfo> {
    validatePrefix(prefix);
    const cut = prefix.lastIndexOf('/') + 1;
    yield* this.walk(prefix.slice(0, cut), prefix.slice(cut), options.signal);
  }

  async delete(name: string, options: OpOptions = {}): Promise<void> {
    validateName(name);
    throwIfAborted(options.signal, `delete ${name}`);
    const cached = this.handles.get(name);
    if (cached) this.dropHandle(name, cached);
    const path = this.pathOf(name);
    try {
      await unlink(path);
    } catch (err) {
      const code = errnoCode(err);
      // Already gone (or never an object): delete is idempotent.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw failure(err, name, 'delete', options.signal);
    }
    // Also after ENOENT: a retried delete whose first directory fsync failed must still end durable.
    if (this.fsync) {
      try {
        await syncDir(dirname(path));
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw failure(err, name, 'delete', options.signal);
      }
    }
  }

  /**
   * Deletes the `.tmp-*` files a writer left when it was killed mid-put (kill -9, power loss),
   * if their mtime is at least `olderThanMs` before `now`; returns how many it removed.
   *
   * A put in progress keeps its temp file's mtime fresh while bytes flow, but a put whose
   * source stalls does not: pick `olderThanMs` above the longest stall you accept. With one
   * writer per repository (decision 5), `removeStaleTemp(0)` before that writer starts is safe.
   * A put whose temp file is removed under it fails at rename; it never reports success.
   */
  async removeStaleTemp(olderThanMs: number, now: number = Date.now()): Promise<number> {
    let removed = 0;
    const sweep = async (relDir: string): Promise<void> => {
      const entries = await this.readFolder(relDir, (err) => classifyFsError(err, relDir || '.', 'removeStaleTemp'));
      if (!entries) return;
      for (const entry of entries) {
        const rel = relDir + entry.name;
        if (entry.isDirectory() && isValidSegment(entry.name)) await sweep(rel + '/');
        else if (entry.isFile() && TEMP_NAME.test(entry.name)) {
          try {
            const info = await stat(this.pathOf(rel));
            if (now - info.mtimeMs < olderThanMs) continue;
            await unlink(this.pathOf(rel));
            removed++;
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') throw classifyFsError(err, rel, 'removeStaleTemp');
          }
        }
      }
    };
    await sweep('');
    return removed;
  }

  private pathOf(name: string): string {
    return name === '' ? this.root : join(this.root, ...name.split('/').filter((s) => s !== ''));
  }

  /** Opens the temp file; creates the name's folders only when the fast path finds them missing. */
  private async openTemp(temp: string, name: string): Promise<FileHandle> {
    let file: FileHandle;
    try {
      file = await open(temp, 'wx', this.fileMode);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await this.ensureFolders(name);
      file = await open(temp, 'wx', this.fileMode);
    }
    try {
      // The umask may have narrowed the mode; the configured one is what the operator asked for.
      await file.chmod(this.fileMode);
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    return file;
  }

  private async ensureFolders(name: string): Promise<void> {
    try {
      const info = await stat(this.root);
      if (!info.isDirectory()) throw new StorageError('FAILED_PRECONDITION', `repository root ${this.root} is not a directory`);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      if (this.rootExisted) {
        throw new StorageError('FAILED_PRECONDITION', `repository root ${this.root} has vanished: is its volume still mounted? Not recreating it`, { cause: err });
      }
      const first = await mkdir(this.root, { recursive: true, mode: this.dirMode });
      await chmod(this.root, this.dirMode);
      // Every new entry, from the highest folder created down to the root, must be durable.
      for (let dir = this.root; this.fsync && first !== undefined; dir = dirname(dir)) {
        await syncDir(dirname(dir));
        if (dir === first) break;
      }
    }
    const segments = name.split('/').slice(0, -1);
    let parent = this.root;
    for (const segment of segments) {
      const dir = join(parent, segment);
      try {
        await mkdir(dir, { mode: this.dirMode });
        await chmod(dir, this.dirMode);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      // Also when another put created it a moment ago: our object is only durable once the
      // entry is, and that put may not have fsynced the parent yet.
      if (this.fsync) await syncDir(parent);
      parent = dir;
    }
  }

  /** A folder's entries, or undefined when it is gone (a missing folder lists as empty). */
  private async readFolder(relDir: string, classify: (err: unknown) => unknown): Promise<Dirent[] | undefined> {
    try {
      return await readdir(this.pathOf(relDir), { withFileTypes: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw classify(err);
    }
  }

  private async *walk(relDir: string, startsWith: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal, `list ${relDir}${startsWith}`);
    const entries = await this.readFolder(relDir, (err) => failure(err, relDir || '.', 'list', signal));
    if (!entries) return;
    const files: string[] = [];
    const folders: string[] = [];
    for (const entry of entries) {
      // Temp files, and anything else that is not a valid name, are not objects.
      if (!entry.name.startsWith(startsWith) || !isValidSegment(entry.name)) continue;
      if (entry.isDirectory()) folders.push(entry.name);
      else if (entry.isFile()) files.push(entry.name);
    }
    for (let i = 0; i < files.length; i += STAT_BATCH) {
      throwIfAborted(signal, `list ${relDir}${startsWith}`);
      const infos = await Promise.all(
        files.slice(i, i + STAT_BATCH).map(async (file): Promise<ObjectInfo | undefined> => {
          const name = relDir + file;
          try {
            const info = await stat(this.pathOf(name));
            return info.isFile() ? { name, size: info.size, modified: info.mtime } : undefined;
          } catch (err) {
            // Deleted between readdir and stat: it is simply not there any more.
            if (errnoCode(err) === 'ENOENT') return undefined;
            throw failure(err, name, 'list', signal);
          }
        }),
      );
      for (const info of infos) if (info) yield info;
    }
    for (const folder of folders) yield* this.walk(`${relDir}${folder}/`, '', signal);
  }
}

/** The typed error for a failed operation: cancellation first, then the source's or the filesystem's. */
function failure(err: unknown, name: string, op: FsOp, signal: AbortSignal | undefined): StorageError {
  if (signal?.aborted) return err instanceof CancelledError ? err : new CancelledError(`${op} ${name}`);
  if (err instanceof SourceFailure) {
    // The caller's own typed error (e.g. a cancelled upstream) passes through untouched.
    if (err.error instanceof StorageError) return err.error;
    // An errno is classified like ours: a disk-full injected through the source (FaultyBackend
    // afterBytes) must read as NoSpaceError. The price: a source copying a file it may not read
    // reports BackendPermissionError; its `cause` names the real path.
    if (errnoCode(err.error) !== undefined) return classifyFsError(err.error, name, 'put');
    return new StorageError('INTERNAL', `put ${name}: its data source failed: ${messageOf(err.error)}`, { cause: err.error });
  }
  return classifyFsError(err, name, op);
}

async function writeAt(file: FileHandle, data: Uint8Array, position: number, signal: AbortSignal | undefined, what: string): Promise<number> {
  let done = 0;
  while (done < data.length) {
    throwIfAborted(signal, what);
    const { bytesWritten } = await file.write(data, done, Math.min(WRITE_SLICE, data.length - done), position + done);
    done += bytesWritten;
  }
  return done;
}

/**
 * Pulls one chunk, writes it, then pulls the next: memory stays at one chunk and a slow
 * disk slows the source (backpressure). An abort stops the wait for a stalled source.
 */
async function writeSource(file: FileHandle, source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, what: string): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let position = 0;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await raceAbort(iterator.next(), signal, what);
      } catch (err) {
        if (err instanceof CancelledError && signal?.aborted) throw err;
        finished = true;
        throw new SourceFailure(err);
      }
      if (next.done) {
        finished = true;
        return;
      }
      if (!(next.value instanceof Uint8Array)) {
        throw new StorageError('INVALID_ARGUMENT', `${what}: the data source yielded ${typeof next.value}, not a Buffer`);
      }
      position += await writeAt(file, next.value, position, signal, what);
    }
  } finally {
    // Tell the source to release what it holds; not awaited, since a source stuck in an
    // await would otherwise hold back the failure we are reporting.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** fsync a directory so the entries just created, renamed or removed in it survive a crash. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errnoCode(err);
    // Some filesystems (certain FUSE and network mounts) cannot fsync a directory; their
    // metadata is as durable as they make it, and failing every put would help nobody.
    if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return;
    throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
