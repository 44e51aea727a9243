import type { Readable } from 'node:stream';
import { CancelledError, StorageError } from '../errors.js';
import type { Backend, ByteRange, ObjectInfo, OpOptions } from './backend.js';
import { defaultSleep, sleepOrCancel, throwIfAborted, type Sleep } from './signals.js';
import { readableFromChunks } from './streams.js';

export interface ThrottleOptions {
  /**
   * Operations in flight at once. Omitted: no limit. There is no good universal default:
   * a local disk wants a few, an object store dozens; main.ts picks it per backend.
   */
  maxConcurrent?: number;
  /**
   * Bytes per second moved through this backend, reads and writes together (one link,
   * one disk). Omitted: no limit.
   */
  bytesPerSecond?: number;
  /** Bytes that may pass at once after a quiet spell. Default: one second's worth. */
  burstBytes?: number;
  /** Milliseconds on some monotonic scale; injected for tests. Default performance.now. */
  now?: () => number;
  /** Injected for tests; must reject (with anything) when `signal` aborts. */
  sleep?: Sleep;
}

/** A FIFO counting semaphore whose waits can be cancelled. */
class Slots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  async acquire(signal: AbortSignal | undefined, what: string): Promise<() => void> {
    throwIfAborted(signal, what);
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new CancelledError(what));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter, so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    };
  }
}

/**
 * A token bucket that may go into debt: each taker pays at once and waits until the
 * bucket is back at zero, so concurrent takers queue up fairly and the long-run rate
 * holds whatever the chunk sizes are (a chunk larger than the burst still passes).
 */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `bytes` and returns how many milliseconds the taker must wait. */
  take(bytes: number): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  refund(bytes: number): void {
    this.tokens = Math.min(this.burst, this.tokens + bytes);
  }
}

/**
 * Limits how many operations run at once and how many bytes per second pass.
 *
 * A slot is held while the inner backend works for us: for the whole of put, get, stat and
 * delete, and for each pull of list and createReadStream. So a consumer that does more
 * backend work inside its `for await` cannot deadlock on its own slot. (A streamed put's
 * source that reads from this same backend could, with maxConcurrent 1.)
 *
 * Bytes are paid for before they are written (a Buffer put pays for all of it before it
 * starts) and after they are read (the size is known only then).
 */
export class ThrottledBackend implements Backend {
  readonly location: string;
  private readonly slots: Slots | undefined;
  private readonly bucket: TokenBucket | undefined;
  private readonly sleep: Sleep;

  constructor(readonly inner: Backend, options: ThrottleOptions = {}) {
    this.location = inner.location;
    const { maxConcurrent, bytesPerSecond } = options;
    if (maxConcurrent !== undefined && !(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) {
      throw new StorageError('INVALID_ARGUMENT', `maxConcurrent must be a positive integer, not ${maxConcurrent}`);
    }
    if (bytesPerSecond !== undefined && !(bytesPerSecond > 0)) {
      throw new StorageError('INVALID_ARGUMENT', `bytesPerSecond must be positive, not ${bytesPerSecond}`);
    }
    this.slots = maxConcurrent === undefined ? undefined : new Slots(maxConcurrent);
    this.bucket = bytesPerSecond === undefined ? undefined : new TokenBucket(bytesPerSecond, options.burstBytes ?? bytesPerSecond, options.now ?? (() => performance.now()));
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Operations holding a slot right now (0 without a concurrency limit). */
  get inFlight(): number {
    return this.slots?.inFlight ?? 0;
  }

  async put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    const signal = options?.signal;
    const what = `put ${name}`;
    if (data instanceof Uint8Array) {
      await this.pay(data.length, signal, what);
      await this.holding(signal, what, () => this.inner.put(name, data, options));
      return;
    }
    const paced = this.paced(data, signal, what);
    await this.holding(signal, what, () => this.inner.put(name, paced, options));
  }

  async get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer> {
    const signal = options?.signal;
    const data = await this.holding(signal, `get ${name}`, () => this.inner.get(name, range, options));
    await this.pay(data.length, signal, `get ${name}`);
    return data;
  }

  stat(name: string, options?: OpOptions): Promise<ObjectInfo> {
    return this.holding(options?.signal, `stat ${name}`, () => this.inner.stat(name, options));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  delete(name: string, options?: OpOptions): Promise<void> {
    return this.holding(options?.signal, `delete ${name}`, () => this.inner.delete(name, options));
  }

  async *list(prefix: string, options?: OpOptions): AsyncGenerator<ObjectInfo> {
    const signal = options?.signal;
    const iterator = this.inner.list(prefix, options)[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        const next = await this.holding(signal, `list ${prefix}`, () => iterator.next());
        if (next.done) {
          finished = true;
          return;
        }
        yield next.value;
      }
    } catch (err) {
      finished = true;
      throw err;
    } finally {
      if (!finished) await iterator.return?.();
    }
  }

  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable {
    const signal = options?.signal;
    const what = `createReadStream ${name}`;
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      const stream = self.inner.createReadStream(name, range, options);
      const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await self.holding(signal, what, () => iterator.next());
          if (next.done) return;
          await self.pay(next.value.length, signal, what);
          yield next.value;
        }
      } finally {
        stream.destroy();
      }
    }
    return readableFromChunks(chunks(), signal, what);
  }

  private async holding<T>(signal: AbortSignal | undefined, what: string, work: () => Promise<T>): Promise<T> {
    if (!this.slots) return work();
    const release = await this.slots.acquire(signal, what);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private async pay(bytes: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    if (!this.bucket || bytes === 0) return;
    const waitMs = this.bucket.take(bytes);
    if (waitMs <= 0) return;
    try {
      await sleepOrCancel(this.sleep, waitMs, signal, what);
    } catch (err) {
      // Bytes that will not move after all should not slow down the others.
      this.bucket.refund(bytes);
      throw err;
    }
  }

  private async *paced(source: AsyncIterable<Buffer>, signal: AbortSignal | undefined, what: string): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      await this.pay(chunk.length, signal, what);
      yield chunk;
    }
  }
}
