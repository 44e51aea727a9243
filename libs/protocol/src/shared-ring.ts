/**
 * Memory for received blobs that worker threads read in place.
 *
 * The coordinator copies every uploaded blob out of its ~1 MiB wire message
 * (so a blob kept for a while does not pin the message), checks it on a worker
 * thread, and adds it to a pack. A fresh buffer per blob lived through the
 * check and the pack's filling, long enough to be promoted, and V8 answered
 * that promoted external memory with a full collection for about every 64 MiB
 * received (bench/RESULTS.md, session 8). Blobs are copied into this ring of
 * shared memory instead: a worker reads a view of a SharedArrayBuffer without
 * a copy or a transfer, and the memory is reused.
 *
 * Allocations are contiguous and taken in order; they may be released in any
 * order, and their space comes back once every older one is released too (a
 * ring of variable-sized records). When there is no room, allocate() answers
 * undefined and the caller uses ordinary memory: the ring is never a wait.
 */
import type { BlobMemory } from './blobs.js';

interface Lease {
  start: number;
  end: number;
  released: boolean;
}

export class SharedRing {
  #memory: Buffer | undefined;
  /** Leases in allocation order; #first is the oldest not yet reclaimed. */
  readonly #leases: (Lease | undefined)[] = [];
  #first = 0;
  #inUse = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastLeaseAt = 0;

  /**
   * @param idleMs the memory is dropped once no lease was live for this long: a daemon
   *   between backups holds none of it (a timer that keeps no process alive)
   */
  constructor(
    readonly capacity: number,
    readonly idleMs = 30_000,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError(`a shared ring needs a positive size, got ${capacity}`);
  }

  /** Whether the ring holds its shared memory now (it is created at the first lease). */
  get holdsMemory(): boolean {
    return this.#memory !== undefined;
  }

  /** Bytes of leases not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Leases not yet reclaimed (released ones behind an older live one included). */
  get leases(): number {
    return this.#leases.length - this.#first;
  }

  /** `size` bytes of shared memory (content undefined), or undefined when the ring has no room for them now. */
  allocate(size: number): BlobMemory | undefined {
    if (!Number.isSafeInteger(size) || size <= 0 || size > this.capacity) return undefined;
    const start = this.#place(size);
    if (start === undefined) return undefined;
    this.#lastLeaseAt = performance.now();
    // Created at the first blob: a process that never receives one keeps no shared memory.
    this.#memory ??= Buffer.from(new SharedArrayBuffer(this.capacity));
    const lease: Lease = { start, end: start + size, released: false };
    this.#leases.push(lease);
    this.#inUse += size;
    return {
      bytes: this.#memory.subarray(start, start + size),
      release: () => this.#release(lease),
    };
  }

  /** Where `size` bytes fit after the newest lease, wrapping to the start once. */
  #place(size: number): number | undefined {
    if (this.leases === 0) return 0;
    const oldest = this.#leases[this.#first]!;
    const newest = this.#leases[this.#leases.length - 1]!;
    if (newest.start >= oldest.start) {
      // Live leases run from oldest.start to newest.end: room after them, else before them.
      if (newest.end + size <= this.capacity) return newest.end;
      return size <= oldest.start ? 0 : undefined;
    }
    // Wrapped: the free space lies between the newest lease and the oldest.
    return newest.end + size <= oldest.start ? newest.end : undefined;
  }

  #release(lease: Lease): void {
    if (lease.released) return;
    lease.released = true;
    this.#inUse -= lease.end - lease.start;
    while (this.#first < this.#leases.length && this.#leases[this.#first]!.released) this.#leases[this.#first++] = undefined;
    if (this.#first === this.#leases.length) {
      this.#leases.length = 0;
      this.#first = 0;
      this.#dropWhenIdle();
    } else if (this.#first > 1024 && this.#first * 2 > this.#leases.length) {
      this.#leases.splice(0, this.#first);
      this.#first = 0;
    }
  }

  /**
   * Every lease is back: the memory goes once no lease was taken for idleMs
   * (views handed out earlier keep it alive until they are gone). One timer at
   * a time, looked at when it fires: a busy ring empties thousands of times a
   * second.
   */
  #dropWhenIdle(): void {
    if (this.#idleTimer !== undefined || this.#memory === undefined) return;
    const check = (): void => {
      this.#idleTimer = undefined;
      if (this.leases > 0) return; // the release of the last live lease schedules it again
      const idle = performance.now() - this.#lastLeaseAt;
      if (idle >= this.idleMs) this.#memory = undefined;
      else this.#idleTimer = setTimeout(check, this.idleMs - idle).unref();
    };
    this.#idleTimer = setTimeout(check, this.idleMs).unref();
  }
}
