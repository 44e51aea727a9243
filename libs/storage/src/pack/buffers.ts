/**
 * Memory kept from pack to pack for the packs being filled.
 *
 * A pack used to be the list of its blobs' own buffers, joined into one fresh
 * ~16 MiB buffer when it was written. Each blob buffer lived until its pack
 * was written, long enough for V8 to promote it, and the join allocated the
 * same bytes again: V8 answers that much promoted external memory with a full
 * collection for about every 64 MiB, which on a 1 GiB backup was the largest
 * single cost of both the coordinator and the local engine (bench/RESULTS.md,
 * session 8). Blobs are now copied into one of a few buffers that are
 * reused, and the blob buffers die young.
 */
export class PackBuffers {
  readonly #free: Buffer[] = [];
  #idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param capacity bytes of a new buffer (a pack's target size plus room for its last blob and trailer)
   * @param keep buffers kept for reuse (the packs written at once, plus the one being filled)
   * @param idleMs kept buffers are dropped once none was taken for this long: a daemon
   *   between backups holds no pack memory (a timer that keeps no process alive)
   */
  constructor(
    readonly capacity: number,
    readonly keep: number,
    readonly idleMs = 30_000,
  ) {}

  /** A buffer of at least `min` bytes, kept or new. Its content is undefined. */
  take(min: number): Buffer {
    const i = this.#free.findIndex((b) => b.length >= min);
    if (i >= 0) return this.#free.splice(i, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.max(min, this.capacity));
  }

  /** Back for reuse: nothing may read or write `buf` afterwards. One grown far past the capacity is left to the collector. */
  give(buf: Buffer): void {
    if (this.#free.length < this.keep && buf.length <= 2 * this.capacity) this.#free.push(buf);
    if (this.#free.length === 0) return;
    // Restarted by every give: the buffers go once packs stop coming, not mid-backup.
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#free.length = 0;
      this.#idleTimer = undefined;
    }, this.idleMs);
    this.#idleTimer.unref();
  }

  /** Buffers kept now (for tests and metrics). */
  get kept(): number {
    return this.#free.length;
  }
}
