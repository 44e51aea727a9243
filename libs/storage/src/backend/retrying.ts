import type { Readable } from 'node:stream';
import { CancelledError, TransientBackendError } from '../errors.js';
import type { Backend, ByteRange, ObjectInfo, OpOptions } from './backend.js';
import type { BackendOp } from './op.js';
import { defaultSleep, sleepOrCancel, throwIfAborted, type Sleep } from './signals.js';
import { readableFromChunks } from './streams.js';

export interface RetryInfo {
  op: BackendOp;
  /** The object name (the prefix for list). */
  name: string;
  /** Which retry this is: 1 for the first retry after the first failure. */
  attempt: number;
  /** How long the decorator waits before that retry. */
  delayMs: number;
  error: TransientBackendError;
}

export interface RetryOptions {
  /**
   * Retries after the first attempt. Default 5: with the default delays that is up to
   * ~3 s of waiting in total, enough to ride out a throttling burst or a
   * load-balancer failover, short enough that a real outage is reported quickly.
   */
  retries?: number;
  /**
   * Cap of the first retry's delay; the cap doubles each retry. Default 100 ms: an
   * object-store 503 or an EAGAIN usually clears within a round trip or two.
   */
  baseDelayMs?: number;
  /**
   * Largest cap of a delay. Default 10 s: a longer wait holds an upload (and the memory
   * of its Buffer) for little gain; past that the outage is the operator's business.
   */
  maxDelayMs?: number;
  /** Injected for tests; must reject (with anything) when `signal` aborts. */
  sleep?: Sleep;
  /** Injected for tests; a number in [0, 1) like Math.random. */
  random?: () => number;
  /** Called before each retry's wait, for logging. Must not throw (exceptions are swallowed). */
  onRetry?: (info: RetryInfo) => void;
}

export const RETRY_DEFAULTS = { retries: 5, baseDelayMs: 100, maxDelayMs: 10_000 } as const;

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter"): a uniform delay in
 * [0, min(max, base * 2^(attempt-1))). Spreading retries over the whole window keeps many
 * clients that failed together from retrying together.
 */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * Retries operations that failed with TransientBackendError, and nothing else: not found,
 * permission, no space, corruption and invalid arguments will not get better by waiting
 * (habit 5). An aborted signal stops at once with CancelledError, also during a wait.
 *
 * What can be retried:
 * - put of a Buffer (it can be sent again). A put of an AsyncIterable is tried once: the
 *   source is consumed as it is written and cannot be replayed. Callers that hold the whole
 *   object in memory should pass a Buffer to get retries.
 * - get, stat, delete (delete is idempotent).
 * - list: restarted from the beginning, skipping names already yielded (as restic does).
 * - createReadStream: only until its first byte reaches the consumer; afterwards a resumed
 *   read could splice two versions of an object overwritten in between, so the error is passed on.
 */
export class RetryingBackend implements Backend {
  readonly location: string;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly onRetry: (info: RetryInfo) => void;

  constructor(readonly inner: Backend, options: RetryOptions = {}) {
    this.location = inner.location;
    this.retries = options.retries ?? RETRY_DEFAULTS.retries;
    this.baseDelayMs = options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry ?? (() => undefined);
  }

  put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    if (!(data instanceof Uint8Array)) return this.inner.put(name, data, options);
    return this.run('put', name, options?.signal, () => this.inner.put(name, data, options));
  }

  get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer> {
    return this.run('get', name, options?.signal, () => this.inner.get(name, range, options));
  }

  stat(name: string, options?: OpOptions): Promise<ObjectInfo> {
    return this.run('stat', name, options?.signal, () => this.inner.stat(name, options));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  delete(name: string, options?: OpOptions): Promise<void> {
    return this.run('delete', name, options?.signal, () => this.inner.delete(name, options));
  }

  async *list(prefix: string, options?: OpOptions): AsyncGenerator<ObjectInfo> {
    const signal = options?.signal;
    const seen = new Set<string>();
    for (let failures = 0; ; ) {
      throwIfAborted(signal, `list ${prefix}`);
      try {
        for await (const info of this.inner.list(prefix, options)) {
          if (seen.has(info.name)) continue;
          seen.add(info.name);
          yield info;
        }
        return;
      } catch (err) {
        failures++;
        await this.beforeRetry('list', prefix, failures, err, signal);
      }
    }
  }

  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable {
    const signal = options?.signal;
    const inner = this.inner;
    const beforeRetry = this.beforeRetry.bind(this);
    async function* attempts(): AsyncGenerator<Buffer> {
      for (let failures = 0; ; ) {
        throwIfAborted(signal, `createReadStream ${name}`);
        let delivered = false;
        try {
          for await (const chunk of inner.createReadStream(name, range, options) as AsyncIterable<Buffer>) {
            delivered = true;
            yield chunk;
          }
          return;
        } catch (err) {
          if (delivered) throw err;
          failures++;
          await beforeRetry('createReadStream', name, failures, err, signal);
        }
      }
    }
    return readableFromChunks(attempts(), signal, `createReadStream ${name}`);
  }

  private async run<T>(op: BackendOp, name: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; ) {
      throwIfAborted(signal, `${op} ${name}`);
      try {
        return await attempt();
      } catch (err) {
        failures++;
        await this.beforeRetry(op, name, failures, err, signal);
      }
    }
  }

  /** Rethrows `err` unless it is worth another attempt; otherwise reports and waits. */
  private async beforeRetry(op: BackendOp, name: string, failures: number, err: unknown, signal: AbortSignal | undefined): Promise<void> {
    const what = `${op} ${name}`;
    if (signal?.aborted) throw err instanceof CancelledError ? err : new CancelledError(what);
    if (!(err instanceof TransientBackendError) || failures > this.retries) throw err;
    const delayMs = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs, this.random);
    try {
      this.onRetry({ op, name, attempt: failures, delayMs, error: err });
    } catch {
      // A logging hook must not change the outcome of the operation.
    }
    await sleepOrCancel(this.sleep, delayMs, signal, what);
  }
}
