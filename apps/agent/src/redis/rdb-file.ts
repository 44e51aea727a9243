/**
 * Finding and reading the RDB file a BGSAVE produced.
 *
 * Where: `CONFIG GET dir` + `dbfilename`, unless the source's config names
 * `rdbPath` (CONFIG renamed or disabled, or the agent sees the file under
 * another path). How: the file is opened ONCE and read through that
 * descriptor. Redis writes the next dump to a temp file and renames it over
 * the name, so the inode we hold is never rewritten under us; we still check
 * it was written after our request (not an old or foreign file), that it
 * looks like an RDB from head to EOF marker, and that its size and mtime did
 * not change while we read it.
 */
import { lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryMeta } from '@pbk/storage';
import type { RedisCall } from './connection.js';
import { RdbFileError, RedisSourceError } from './errors.js';
import { rdbTrailerOk, rdbVersion } from './info.js';

const READ_CHUNK = 1024 * 1024;

export interface RdbLocation {
  path: string;
  /** 'config' when Redis told us, 'rdbPath' when the source's config did. */
  from: 'config' | 'rdbPath';
}

export async function locateRdb(conn: RedisCall, address: string, rdbPath: string | undefined): Promise<RdbLocation> {
  if (rdbPath !== undefined) return { path: rdbPath, from: 'rdbPath' };
  try {
    const dir = (await conn.call('CONFIG', 'GET', 'dir')) as string[];
    const file = (await conn.call('CONFIG', 'GET', 'dbfilename')) as string[];
    if (!dir[1] || !file[1]) throw new Error(`CONFIG GET answered ${JSON.stringify([dir, file])}`);
    return { path: join(dir[1], file[1]), from: 'config' };
  } catch (err) {
    throw new RedisSourceError(
      address,
      `cannot ask Redis at ${address} where its RDB file is (CONFIG GET dir / dbfilename: ${(err as Error).message}); ` +
        'if CONFIG is renamed or disabled, set rdbPath in this source\'s config to the dump file (dir + dbfilename)',
      { cause: err },
    );
  }
}

/** An opened dump: its facts, its bytes through the one descriptor, and a final unchanged-check. */
export interface OpenedRdb {
  path: string;
  size: number;
  version: number;
  meta: EntryMeta;
  mtimeMs: number;
  chunks(signal: AbortSignal, onBytes: (done: number) => void): AsyncIterable<Buffer>;
  /** Throws when the file's size or mtime changed since it was opened. */
  checkUnchanged(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the dump and checks it is the one asked for at `requestedAtSec` (server clock, same host). */
export async function openRdb(path: string, requestedAtSec: number): Promise<OpenedRdb> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RdbFileError(
      path,
      `cannot open the RDB file ${path} (${code ?? (err as Error).message}): the agent must run on the Redis host as a user that can read Redis's dir; ` +
        'if the file lives elsewhere, set rdbPath',
      { cause: err, code: code === 'ENOENT' ? 'NOT_FOUND' : 'FAILED_PRECONDITION' },
    );
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) throw new RdbFileError(path, `${path} is not a regular file`);
    const size = Number(st.size);
    const mtimeMs = Number(st.mtimeMs);
    // The dump was written after the request: an older file is not this instance's fresh dump.
    if (mtimeMs < requestedAtSec * 1000 - 1000) {
      throw new RdbFileError(
        path,
        `the RDB file ${path} was last written at ${new Date(mtimeMs).toISOString()}, before the BGSAVE asked for at ${new Date(requestedAtSec * 1000).toISOString()}: ` +
          'it is not the dump this Redis just wrote (rdbPath pointing at another instance\'s file?)',
      );
    }
    const head = Buffer.alloc(9);
    await fh.read(head, 0, 9, 0);
    const version = rdbVersion(head);
    if (version === undefined) throw new RdbFileError(path, `${path} does not start with an RDB header (REDIS + version)`, { code: 'CORRUPT' });
    const tail = Buffer.alloc(Math.min(9, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    if (!rdbTrailerOk(tail, version)) throw new RdbFileError(path, `${path} does not end with the RDB EOF marker: the dump is cut short`, { code: 'CORRUPT' });
    const meta: EntryMeta = { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString() };
    return {
      path,
      size,
      version,
      meta,
      mtimeMs,
      chunks: (signal, onBytes) => readAll(fh, size, path, signal, onBytes),
      checkUnchanged: async () => {
        const now = await fh.stat({ bigint: true });
        if (now.size !== st.size || now.mtimeNs !== st.mtimeNs) {
          throw new RdbFileError(path, `${path} changed while it was read (size ${st.size} -> ${now.size}): something other than Redis's rename writes it`);
        }
      },
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Fresh buffers (the chunker may keep views of them), exactly `size` bytes, from the one descriptor. */
async function* readAll(fh: FileHandle, size: number, path: string, signal: AbortSignal, onBytes: (done: number) => void): AsyncGenerator<Buffer> {
  let pos = 0;
  while (pos < size) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RdbFileError(path, 'reading the RDB was cancelled');
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) throw new RdbFileError(path, `${path} ended at ${pos} of ${size} bytes while it was read`);
    pos += bytesRead;
    onBytes(pos);
    yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
  }
}

/**
 * Reading the dump WHILE Redis writes it, so the upload overlaps the BGSAVE
 * instead of following it. Redis's child writes `temp-<pid>.rdb` in its dir,
 * strictly appending, then renames it to `dbfilename`: a rename keeps the
 * inode, so the descriptor opened on the temp file ends up on the finished
 * dump. We read only up to the file's current size (the kernel updates it
 * after the bytes are in the page cache) and stop once the save is over and
 * everything is read. Whether it really was THE dump is proven at the end:
 * the file at the RDB path must be the same inode with the same size
 * (`sameAsDump`); if not (a leftover temp file picked, another save renamed
 * over it), the caller reads the finished dump again the ordinary way.
 */
export interface SaveState {
  /** Server seconds of the latest accepted BGSAVE; undefined until Redis accepted one. */
  requestedAt(): number | undefined;
  /** undefined while the save runs; then whether it succeeded (a failure carries its error). */
  outcome(): { ok: true } | { ok: false; error: unknown } | undefined;
}

const TEMP_RDB = /^temp-\d+\.rdb$/;

/** Opens the temp file of the running save; undefined when the save ended before one was seen. */
export async function findGrowingRdb(dir: string, state: SaveState, signal: AbortSignal, pollMs: number): Promise<{ fh: FileHandle; path: string } | undefined> {
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RdbFileError(dir, 'cancelled');
    if (state.outcome() !== undefined) return undefined;
    const since = state.requestedAt();
    if (since !== undefined) {
      const names = await readdir(dir).catch(() => [] as string[]);
      let best: { path: string; mtimeMs: number } | undefined;
      for (const name of names.filter((n) => TEMP_RDB.test(n))) {
        const st = await lstat(join(dir, name)).catch(() => undefined);
        // Written since our request: a crashed save's leftover is older.
        if (st?.isFile() && st.mtimeMs >= since * 1000 - 1000 && (best === undefined || st.mtimeMs > best.mtimeMs)) best = { path: join(dir, name), mtimeMs: st.mtimeMs };
      }
      if (best !== undefined) {
        try {
          return { fh: await open(best.path, 'r'), path: best.path };
        } catch {
          // Renamed or removed between readdir and open: look again (or the save is over).
        }
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The bytes of a growing dump, in order, until the save is over and all of it is read. */
export async function* followGrowing(fh: FileHandle, path: string, state: SaveState, signal: AbortSignal, pollMs: number, onBytes: (done: number) => void): AsyncGenerator<Buffer> {
  let pos = 0;
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RdbFileError(path, 'reading the RDB was cancelled');
    // The outcome is read BEFORE the size: once the save is over, the size read after it is final.
    const outcome = state.outcome();
    if (outcome !== undefined && !outcome.ok) throw outcome.error;
    const size = Number((await fh.stat()).size);
    if (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw new RdbFileError(path, `${path} shrank below ${pos} bytes while it was read`);
      pos += bytesRead;
      onBytes(pos);
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      continue;
    }
    if (outcome !== undefined) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Whether the dump at `rdbPath` is the inode we read, at the size we read; the file's facts when it is. */
export async function sameAsDump(fh: FileHandle, rdbPath: string, bytesRead: number): Promise<OpenedFacts | undefined> {
  const mine = await fh.stat({ bigint: true });
  const there = await stat(rdbPath, { bigint: true }).catch(() => undefined);
  if (there === undefined || there.ino !== mine.ino || there.dev !== mine.dev || Number(mine.size) !== bytesRead) return undefined;
  const size = Number(mine.size);
  const head = Buffer.alloc(9);
  await fh.read(head, 0, 9, 0);
  const version = rdbVersion(head);
  if (version === undefined) throw new RdbFileError(rdbPath, `${rdbPath} does not start with an RDB header (REDIS + version)`, { code: 'CORRUPT' });
  const tail = Buffer.alloc(Math.min(9, size));
  await fh.read(tail, 0, tail.length, size - tail.length);
  if (!rdbTrailerOk(tail, version)) throw new RdbFileError(rdbPath, `${rdbPath} does not end with the RDB EOF marker: the dump is cut short`, { code: 'CORRUPT' });
  return { size, version, meta: { mode: Number(mine.mode) & 0o7777, uid: Number(mine.uid), gid: Number(mine.gid), mtimeNs: mine.mtimeNs.toString() } };
}

export interface OpenedFacts {
  size: number;
  version: number;
  meta: EntryMeta;
}
