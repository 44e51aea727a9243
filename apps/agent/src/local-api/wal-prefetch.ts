/**
 * Read-ahead for restore_command, as pgBackRest's asynchronous archive-get
 * does: once segment N of a timeline has been served, the next few segments
 * of that timeline are fetched in the background and held in the daemon's
 * memory (never on disk: they are plaintext), so recovery's next wal-fetch is
 * answered at once instead of after a coordinator round trip and a decrypt.
 *
 * Only complete files are held (a growing segment is NOT_FOUND to a plain
 * fetch, and a request for it takes the usual path that serves it padded).
 * A failed or missing read-ahead is forgotten: the request fetches for itself
 * and reports its own error. Memory is bounded by `depth` files; an entry
 * nobody asks for within `ttlMs` is dropped (recovery stopped at its target,
 * or moved to another timeline).
 */
import { isSegmentName, segmentName, segmentStart, timelineOf } from '../postgres/wal/names.js';

/** T: a fetched file's bytes (the daemon keeps them as the pieces its blobs opened to). */
export interface WalPrefetchOptions<T> {
  /** Fetches one complete WAL file; rejects when the coordinator has none. */
  fetch(host: string, source: string, file: string, signal: AbortSignal): Promise<T>;
  /** Files held or in flight at most. */
  depth: number;
  ttlMs: number;
  segmentBytes: number;
  /** A file fetched ahead arrived (for the spools of restores: wal-spool.ts). */
  onFetched?(host: string, source: string, file: string, data: T, ms: number): void;
}

interface Entry<T> {
  data: Promise<T | undefined>;
  controller: AbortController;
  timer: NodeJS.Timeout;
}

export class WalPrefetch<T = Buffer> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly o: WalPrefetchOptions<T>) {}

  /** The read-ahead of this file, if any: its bytes, or undefined (not fetched ahead, or that failed). */
  async take(host: string, source: string, file: string): Promise<T | undefined> {
    const key = keyOf(host, source, file);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.drop(key, false);
    return e.data;
  }

  /** `file` was just served: fetch the segments after it on its timeline. */
  after(host: string, source: string, file: string): void {
    this.ahead(host, source, file, 1);
  }

  /** Recovery will start at `file` (a restore's first segment): fetch it and the segments after it. */
  from(host: string, source: string, file: string): void {
    this.ahead(host, source, file, 0);
  }

  private ahead(host: string, source: string, file: string, first: 0 | 1): void {
    if (!isSegmentName(file) || this.o.depth <= 0) return;
    const tli = timelineOf(file);
    const start = segmentStart(file, this.o.segmentBytes);
    for (let i = first; i < first + this.o.depth; i++) {
      const next = segmentName(tli, start + BigInt(i * this.o.segmentBytes), this.o.segmentBytes);
      const key = keyOf(host, source, next);
      if (this.entries.has(key)) continue;
      while (this.entries.size >= this.o.depth) this.drop(this.entries.keys().next().value!, true);
      const controller = new AbortController();
      const asked = Date.now();
      const data = this.o.fetch(host, source, next, controller.signal).then(
        (d) => {
          this.o.onFetched?.(host, source, next, d, Date.now() - asked);
          return d;
        },
        () => undefined,
      );
      const timer = setTimeout(() => this.drop(key, true), this.o.ttlMs);
      timer.unref();
      this.entries.set(key, { data, controller, timer });
    }
  }

  /** The files of a source held or in flight, as they arrive (a spool registered late gets them). */
  held(host: string, source: string): Array<{ file: string; data: Promise<T | undefined> }> {
    const prefix = keyOf(host, source, '');
    return [...this.entries].filter(([k]) => k.startsWith(prefix)).map(([k, e]) => ({ file: k.slice(prefix.length), data: e.data }));
  }

  close(): void {
    for (const key of [...this.entries.keys()]) this.drop(key, true);
  }

  private drop(key: string, abort: boolean): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    clearTimeout(e.timer);
    if (abort) e.controller.abort();
  }
}

function keyOf(host: string, source: string, file: string): string {
  return `${host}/${source}/${file}`;
}
