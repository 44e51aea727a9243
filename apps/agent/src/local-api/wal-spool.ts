/**
 * A restore's WAL spool, as pgBackRest's asynchronous archive-get keeps one:
 * the segments fetched ahead (wal-prefetch.ts) are written into a directory
 * inside the restored cluster's pg_wal (same filesystem as the file recovery
 * asks for), and restore_command renames the one it wants (bin/wal-fetch.sh
 * `--spool`), so a segment costs recovery a rename instead of 16 MiB through
 * the daemon's socket. Segments are written while recovery replays the one
 * before.
 *
 * The daemon only writes into spools a restore it runs registered, never
 * into a directory a request names. Files are written under a temp name and
 * renamed (recovery never sees half a file), 0600 and owned by PostgreSQL's
 * OS user, like the WAL recovery writes itself. A file taken out of the
 * directory (inotify) moves the read-ahead window on; one nobody takes
 * within `ttlMs` is deleted, and `close()` deletes what is left.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { access, lstat, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSegmentName } from '../postgres/wal/names.js';

export interface WalSpoolOptions {
  dir: string;
  /** Owner of the files (PostgreSQL's OS user). */
  uid: number;
  gid: number;
  ttlMs: number;
  /** A spooled segment was taken by recovery. */
  onTaken(file: string): void;
  onError(file: string, err: unknown): void;
}

export class WalSpool {
  private readonly held = new Map<string, NodeJS.Timeout>();
  private readonly watcher: FSWatcher;
  private closed = false;
  /** The directory as registered: PostgreSQL's user owns its parent and could swap in a symlink, which a root daemon must not write through. */
  private readonly identity: { dev: number; ino: number };

  constructor(private readonly o: WalSpoolOptions) {
    const st = lstatSync(o.dir);
    if (!st.isDirectory()) throw new Error(`WAL spool ${o.dir} is not a directory`);
    this.identity = { dev: st.dev, ino: st.ino };
    this.watcher = watch(o.dir, (_event, name) => {
      if (typeof name === 'string' && this.held.has(name)) this.checkTaken(name);
    });
    this.watcher.on('error', () => undefined); // the directory went away with its restore
  }

  /** Whether the spool has (or is writing) this file. */
  has(file: string): boolean {
    return this.held.has(file);
  }

  /** Writes one complete segment (its pieces, in order) into the spool. */
  async put(file: string, pieces: readonly Buffer[]): Promise<void> {
    if (this.closed || this.held.has(file) || !isSegmentName(file)) return;
    const timer = setTimeout(() => void this.expire(file), this.o.ttlMs);
    timer.unref();
    this.held.set(file, timer);
    const tmp = join(this.o.dir, `.${file}.pbk-spool`);
    try {
      const st = await lstat(this.o.dir);
      if (!st.isDirectory() || st.dev !== this.identity.dev || st.ino !== this.identity.ino) throw new Error(`the spool directory ${this.o.dir} was replaced; not writing through it`);
      // 'wx': O_CREAT|O_EXCL, which also refuses a symlink planted under the temp name.
      const fh = await open(tmp, 'wx', 0o600);
      try {
        const want = pieces.reduce((n, b) => n + b.length, 0);
        let wrote = 0;
        for (let i = 0; i < pieces.length; i += 256) wrote += (await fh.writev(pieces.slice(i, i + 256))).bytesWritten;
        if (wrote !== want) throw new Error(`short write: ${wrote} of ${want} bytes`);
        await fh.chown(this.o.uid, this.o.gid);
      } finally {
        await fh.close();
      }
      if (this.closed) throw new Error('spool closed');
      await rename(tmp, join(this.o.dir, file));
    } catch (err) {
      clearTimeout(timer);
      this.held.delete(file);
      await rm(tmp, { force: true });
      if (!this.closed) this.o.onError(file, err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher.close();
    const files = [...this.held.keys()];
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
    await Promise.all(files.map((f) => rm(join(this.o.dir, f), { force: true })));
  }

  private checkTaken(file: string): void {
    // Any event on a held name: it is taken once the name is gone (our own rename into place also fires one).
    access(join(this.o.dir, file)).then(
      () => undefined,
      () => {
        const timer = this.held.get(file);
        if (timer === undefined || this.closed) return;
        clearTimeout(timer);
        this.held.delete(file);
        this.o.onTaken(file);
      },
    );
  }

  private async expire(file: string): Promise<void> {
    if (!this.held.delete(file)) return;
    await rm(join(this.o.dir, file), { force: true });
  }
}
