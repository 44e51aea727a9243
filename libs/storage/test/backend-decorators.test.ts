import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, ByteRange, ObjectInfo, OpOptions } from '../src/backend/backend.js';
import { wrapBackend } from '../src/backend/compose.js';
import { FaultyBackend } from '../src/backend/faulty.js';
import { LocalBackend } from '../src/backend/fs.js';
import { backoffDelay, RETRY_DEFAULTS, RetryingBackend, type RetryInfo } from '../src/backend/retrying.js';
import { ThrottledBackend } from '../src/backend/throttled.js';
import {
  BackendPermissionError,
  CancelledError,
  NoSpaceError,
  NotFoundError,
  PackCorruptError,
  StorageError,
  TransientBackendError,
} from '../src/errors.js';
import { chunksOf, describeBackendContract, listNames, readAll, rejection } from './backend-contract.js';

async function tempLocal(): Promise<{ backend: LocalBackend; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'pbk-decorators-'));
  return { backend: new LocalBackend(root), cleanup: () => rm(root, { recursive: true, force: true }) };
}

// The decorators must keep every guarantee of the backend they wrap.
describeBackendContract('wrapBackend(LocalBackend) with retry and throttle', async () => {
  const { backend, cleanup } = await tempLocal();
  return { backend: wrapBackend(backend, { throttle: { maxConcurrent: 4, bytesPerSecond: 2 ** 40 } }), cleanup };
});
describeBackendContract('FaultyBackend(LocalBackend) without rules', async () => {
  const { backend, cleanup } = await tempLocal();
  return { backend: new FaultyBackend(backend), cleanup };
});

const transient = (): Error => new TransientBackendError('503 Slow Down');

/** Records the sleeps a decorator asks for and returns at once. */
function recordingSleep(): { sleep: (ms: number, signal?: AbortSignal) => Promise<void>; slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
}

describe('RetryingBackend', () => {
  let local: LocalBackend;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ backend: local, cleanup } = await tempLocal());
    await local.put('obj', Buffer.from('payload'));
  });
  afterEach(async () => {
    await cleanup();
  });

  it('retries transient failures with full-jitter backoff, reporting each retry', async () => {
    const faulty = new FaultyBackend(local, [{ op: 'get', name: /^obj$/, times: 3, error: transient }]);
    const { sleep, slept } = recordingSleep();
    const retries: RetryInfo[] = [];
    const backend = new RetryingBackend(faulty, { sleep, random: () => 0.5, onRetry: (info) => retries.push(info) });
    expect((await backend.get('obj')).toString()).toBe('payload');
    expect(faulty.fired('get')).toBe(3);
    // base 100 ms doubling, times random 0.5.
    expect(slept).toEqual([50, 100, 200]);
    expect(retries.map((r) => [r.op, r.name, r.attempt, r.delayMs])).toEqual([
      ['get', 'obj', 1, 50],
      ['get', 'obj', 2, 100],
      ['get', 'obj', 3, 200],
    ]);
    expect(retries[0]?.error).toBeInstanceOf(TransientBackendError);
  });

  it.each([
    ['NotFoundError', () => new NotFoundError('obj')],
    ['BackendPermissionError', () => new BackendPermissionError('obj')],
    ['NoSpaceError', () => new NoSpaceError('obj')],
    ['PackCorruptError (CORRUPT)', () => new PackCorruptError('abc', 12, 'bad tag')],
    ['INVALID_ARGUMENT', () => new StorageError('INVALID_ARGUMENT', 'bad')],
    ['a plain Error', () => new Error('unknown')],
  ])('does not retry %s', async (_label, error) => {
    const faulty = new FaultyBackend(local, [{ op: 'get', error }]);
    const { sleep, slept } = recordingSleep();
    const backend = new RetryingBackend(faulty, { sleep });
    const err = await rejection(backend.get('obj'));
    expect(err).toBeInstanceOf(error().constructor);
    expect(faulty.fired('get')).toBe(1);
    expect(slept).toEqual([]);
  });

  it('does not retry a real NotFoundError from the backend', async () => {
    const spy = new FaultyBackend(local, [{ op: 'stat', delayMs: 0 }]);
    const { sleep, slept } = recordingSleep();
    expect(await rejection(new RetryingBackend(spy, { sleep }).stat('missing'))).toBeInstanceOf(NotFoundError);
    expect(spy.fired('stat')).toBe(1);
    expect(slept).toEqual([]);
  });

  it('gives up after `retries` retries with the last error', async () => {
    let n = 0;
    const faulty = new FaultyBackend(local, [{ op: 'stat', error: () => new TransientBackendError(`failure ${++n}`) }]);
    const { sleep, slept } = recordingSleep();
    const retries: number[] = [];
    const backend = new RetryingBackend(faulty, { retries: 3, sleep, random: () => 0, onRetry: (i) => retries.push(i.attempt) });
    const err = await rejection(backend.stat('obj'));
    expect(err).toBeInstanceOf(TransientBackendError);
    expect((err as Error).message).toBe('failure 4');
    expect(faulty.fired('stat')).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect(slept).toEqual([0, 0, 0]);
  });

  it('uses the defaults: 5 retries', async () => {
    const faulty = new FaultyBackend(local, [{ op: 'delete', error: transient }]);
    const { sleep } = recordingSleep();
    await rejection(new RetryingBackend(faulty, { sleep }).delete('obj'));
    expect(faulty.fired('delete')).toBe(RETRY_DEFAULTS.retries + 1);
  });

  it('stops at once with CancelledError when aborted during a backoff wait', async () => {
    const faulty = new FaultyBackend(local, [{ op: 'get', error: transient }]);
    const controller = new AbortController();
    // Real sleep, one-minute delays: only the abort can end this quickly.
    const backend = new RetryingBackend(faulty, { baseDelayMs: 60_000, random: () => 0.99, onRetry: () => controller.abort() });
    const started = Date.now();
    const err = await rejection(backend.get('obj', undefined, { signal: controller.signal }));
    expect(err).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(faulty.fired('get')).toBe(1);
  });

  it('makes no attempt when the signal is already aborted', async () => {
    const spy = new FaultyBackend(local, [{ op: 'get', delayMs: 0 }]);
    const err = await rejection(new RetryingBackend(spy).get('obj', undefined, { signal: AbortSignal.abort() }));
    expect(err).toBeInstanceOf(CancelledError);
    expect(spy.fired('get')).toBe(0);
  });

  it('computes full-jitter delays: uniform below min(max, base * 2^(attempt-1))', () => {
    const caps = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, 100, 1000, () => 0.999_999));
    expect(caps).toEqual([99, 199, 399, 799, 999, 999, 999, 999]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 10_000, () => 0.5))).toEqual([50, 100, 200, 400, 800]);
    expect(backoffDelay(30, 100, 10_000, () => 0)).toBe(0);
  });

  it('retries a Buffer put but never a streamed put, which cannot be replayed', async () => {
    const faulty = new FaultyBackend(local, [{ op: 'put', times: 1, error: transient }]);
    const { sleep } = recordingSleep();
    const backend = new RetryingBackend(faulty, { sleep });
    await backend.put('buffered', Buffer.from('b'));
    expect((await local.get('buffered')).toString()).toBe('b');
    faulty.addRule({ op: 'put', times: 1, error: transient });
    expect(await rejection(backend.put('streamed', chunksOf(Buffer.from('s'))))).toBeInstanceOf(TransientBackendError);
    expect(faulty.fired('put')).toBe(2);
    expect(await listNames(local)).toEqual(['buffered', 'obj']);
  });

  it('retries list, without yielding a name twice', async () => {
    await local.put('data/a', Buffer.from('a'));
    await local.put('data/b', Buffer.from('b'));
    const flaky = new FlakyList(local, 1);
    const { sleep } = recordingSleep();
    expect(await listNames(new RetryingBackend(flaky, { sleep }), 'data/')).toEqual(['data/a', 'data/b']);
    expect(flaky.lists).toBe(2);
  });

  it('retries createReadStream until the first byte, not after', async () => {
    const big = randomBytes(3 << 20);
    await local.put('big', big);
    const faulty = new FaultyBackend(local, [{ op: 'createReadStream', times: 2, error: transient }]);
    const { sleep } = recordingSleep();
    const backend = new RetryingBackend(faulty, { sleep });
    expect((await readAll(backend.createReadStream('big'))).equals(big)).toBe(true);
    expect(faulty.fired('createReadStream')).toBe(2);
    // Past the first 1 MiB chunk, so bytes surely reached the retrier before the failure.
    faulty.addRule({ op: 'createReadStream', times: 1, afterBytes: (1 << 20) + 1000, error: transient });
    expect(await rejection(readAll(backend.createReadStream('big')))).toBeInstanceOf(TransientBackendError);
    expect(faulty.fired('createReadStream')).toBe(3);
  });
});

/** Passes every call through; the test helpers below override what they observe. */
class PassThrough implements Backend {
  readonly location: string;
  constructor(protected readonly inner: Backend) {
    this.location = inner.location;
  }
  put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    return this.inner.put(name, data, options);
  }
  get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer> {
    return this.inner.get(name, range, options);
  }
  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable {
    return this.inner.createReadStream(name, range, options);
  }
  stat(name: string, options?: OpOptions): Promise<ObjectInfo> {
    return this.inner.stat(name, options);
  }
  list(prefix: string, options?: OpOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix, options);
  }
  delete(name: string, options?: OpOptions): Promise<void> {
    return this.inner.delete(name, options);
  }
}

/** A list that fails with a transient error after `after` items, once: a connection reset mid-listing. */
class FlakyList extends PassThrough {
  lists = 0;
  private failed = false;
  constructor(inner: Backend, private readonly after: number) {
    super(inner);
  }
  override async *list(prefix: string, options?: OpOptions): AsyncGenerator<ObjectInfo> {
    this.lists++;
    const infos: ObjectInfo[] = [];
    for await (const info of this.inner.list(prefix, options)) infos.push(info);
    infos.sort((a, b) => a.name.localeCompare(b.name));
    for (const [i, info] of infos.entries()) {
      if (i === this.after && !this.failed) {
        this.failed = true;
        throw new TransientBackendError('connection reset while listing');
      }
      yield info;
    }
  }
}

/** Counts calls in progress inside the wrapped backend. */
class InFlightProbe extends PassThrough {
  active = 0;
  max = 0;
  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.active++;
    this.max = Math.max(this.max, this.active);
    try {
      return await work();
    } finally {
      this.active--;
    }
  }
  override put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    return this.track(() => super.put(name, data, options));
  }
  override get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer> {
    return this.track(() => super.get(name, range, options));
  }
  override stat(name: string, options?: OpOptions): Promise<ObjectInfo> {
    return this.track(() => super.stat(name, options));
  }
}

/** Counts the bytes a put hands to the backend below. */
class CountingPuts extends PassThrough {
  fed = 0;
  override put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void> {
    const self = this;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of data instanceof Uint8Array ? [data] : data) {
        self.fed += chunk.length;
        yield chunk;
      }
    }
    return super.put(name, counted(), options);
  }
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime(): { now: () => number; sleep: (ms: number, signal?: AbortSignal) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}

describe('ThrottledBackend', () => {
  let local: LocalBackend;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ backend: local, cleanup } = await tempLocal());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('keeps at most maxConcurrent operations in flight', async () => {
    const slow = new FaultyBackend(local, [
      { op: 'put', delayMs: 15 },
      { op: 'get', delayMs: 15 },
      { op: 'stat', delayMs: 15 },
    ]);
    const probe = new InFlightProbe(slow);
    const backend = new ThrottledBackend(probe, { maxConcurrent: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => backend.put(`o${i}`, Buffer.from(String(i)))));
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? backend.get(`o${i}`) : backend.stat(`o${i}`))));
    expect(probe.max).toBe(3);
    expect(backend.inFlight).toBe(0);
    expect(await listNames(local)).toHaveLength(12);
  });

  it('holds a slot per pull for list and streams, so nested work in a for-await cannot deadlock', async () => {
    for (const n of ['a', 'b', 'c']) await local.put(`x/${n}`, Buffer.from(n));
    const backend = new ThrottledBackend(local, { maxConcurrent: 1 });
    const seen: string[] = [];
    for await (const info of backend.list('x/')) {
      seen.push((await backend.get(info.name)).toString());
      seen.push((await readAll(backend.createReadStream(info.name))).toString());
    }
    expect(seen.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
  });

  it('cancels a wait for a slot when aborted, and keeps serving the others', async () => {
    const slow = new FaultyBackend(local, [{ op: 'stat', name: /^slow$/, delayMs: 100 }]);
    await local.put('slow', Buffer.from('s'));
    await local.put('fast', Buffer.from('f'));
    const backend = new ThrottledBackend(slow, { maxConcurrent: 1 });
    const first = backend.stat('slow');
    const controller = new AbortController();
    const waiting = backend.stat('fast', { signal: controller.signal });
    const third = backend.stat('fast');
    controller.abort();
    expect(await rejection(waiting)).toBeInstanceOf(CancelledError);
    expect((await first).name).toBe('slow');
    expect((await third).name).toBe('fast');
  });

  it('limits bytes per second with a token bucket (injected clock)', async () => {
    const time = fakeTime();
    const backend = new ThrottledBackend(local, { bytesPerSecond: 1000, now: time.now, sleep: time.sleep });
    // The first second's worth passes at once (burst), then each 1000 bytes cost a second.
    for (let i = 0; i < 3; i++) await backend.put(`b${i}`, Buffer.alloc(1000));
    expect(time.slept).toEqual([1000, 1000]);
    expect(time.now()).toBe(2000);
    // Streamed writes pay per chunk: 5000 bytes in 500-byte chunks take five more seconds.
    await backend.put('s', chunksOf(...Array.from({ length: 10 }, () => Buffer.alloc(500))));
    expect(time.now()).toBe(7000);
    // Reads pay too: 2500 bytes by get, then a 3000-byte range by stream.
    await local.put('r', randomBytes(4000));
    await backend.get('r', { offset: 0, length: 2500 });
    expect(time.now()).toBe(9500);
    expect((await readAll(backend.createReadStream('r', { offset: 1000 }))).length).toBe(3000);
    expect(time.now()).toBe(12_500);
  });

  it('refills the bucket while idle, up to the burst', async () => {
    const time = fakeTime();
    let t = 0;
    const backend = new ThrottledBackend(local, { bytesPerSecond: 1000, burstBytes: 2000, now: () => t + time.now(), sleep: time.sleep });
    await backend.put('a', Buffer.alloc(2000));
    expect(time.slept).toEqual([]);
    t += 60_000; // a long quiet spell refills only up to the burst
    await backend.put('b', Buffer.alloc(3000));
    expect(time.slept).toEqual([1000]);
  });

  it('rejects nonsense limits', () => {
    expect(() => new ThrottledBackend(local, { maxConcurrent: 0 })).toThrow(StorageError);
    expect(() => new ThrottledBackend(local, { bytesPerSecond: -1 })).toThrow(StorageError);
  });
});

describe('wrapBackend', () => {
  let local: LocalBackend;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ backend: local, cleanup } = await tempLocal());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('stacks Retrying(Throttled(inner)), leaving out what is off', () => {
    const both = wrapBackend(local, { throttle: { maxConcurrent: 2 } });
    expect(both).toBeInstanceOf(RetryingBackend);
    expect((both as RetryingBackend).inner).toBeInstanceOf(ThrottledBackend);
    expect(((both as RetryingBackend).inner as ThrottledBackend).inner).toBe(local);
    const retryOnly = wrapBackend(local, {});
    expect((retryOnly as RetryingBackend).inner).toBe(local);
    expect(wrapBackend(local, { retry: false })).toBe(local);
    expect(wrapBackend(local, { retry: false, throttle: {} })).toBe(local);
    expect(wrapBackend(local, { retry: false, throttle: { bytesPerSecond: 10 } })).toBeInstanceOf(ThrottledBackend);
    expect(both.location).toBe(local.location);
  });

  it('a retry waiting out its backoff holds no slot, and a Buffer put stays retryable under the throttle', async () => {
    await local.put('other', Buffer.from('o'));
    const faulty = new FaultyBackend(local, [{ op: 'put', times: 1, error: transient }]);
    let wake!: () => void;
    let backingOff!: () => void;
    const inBackoff = new Promise<void>((resolve) => (backingOff = resolve));
    const backend = wrapBackend(faulty, {
      throttle: { maxConcurrent: 1 },
      retry: {
        sleep: () => {
          backingOff();
          return new Promise<void>((resolve) => (wake = resolve));
        },
      },
    });
    const put = backend.put('retried', Buffer.from('r'));
    await inBackoff;
    // The only slot is free while the put sleeps: another operation gets through.
    expect((await backend.stat('other')).size).toBe(1);
    wake();
    await put;
    expect((await local.get('retried')).toString()).toBe('r');
    expect(faulty.fired('put')).toBe(1);
  });
});

describe('FaultyBackend', () => {
  let local: LocalBackend;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ backend: local, cleanup } = await tempLocal());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('afterBytes feeds the inner backend exactly that many bytes before failing the source', async () => {
    const counting = new CountingPuts(local);
    const boom = new StorageError('UNAVAILABLE', 'link dropped');
    const faulty = new FaultyBackend(counting, [{ op: 'put', name: /victim/, afterBytes: 1500, error: () => boom }]);
    expect(await rejection(faulty.put('victim', Buffer.alloc(4000)))).toBe(boom);
    expect(counting.fed).toBe(1500);
    counting.fed = 0;
    expect(await rejection(faulty.put('victim2', chunksOf(Buffer.alloc(1000), Buffer.alloc(1000), Buffer.alloc(1000))))).toBe(boom);
    expect(counting.fed).toBe(1500);
    await faulty.put('bystander', Buffer.alloc(10));
    expect(await listNames(local)).toEqual(['bystander']);
  });

  it('matches by op and name, fires `times` times, and can only delay', async () => {
    await local.put('a', Buffer.from('a'));
    const faulty = new FaultyBackend(local, [
      { op: 'get', name: /^a$/g, times: 2 },
      { op: 'stat', delayMs: 1 },
    ]);
    expect((await rejection(faulty.get('a'))) as StorageError).toMatchObject({ code: 'INTERNAL' });
    expect((await rejection(faulty.get('a'))) as StorageError).toMatchObject({ code: 'INTERNAL' });
    expect((await faulty.get('a')).toString()).toBe('a');
    expect((await faulty.stat('a')).size).toBe(1);
    expect(faulty.fired('get')).toBe(2);
    expect(faulty.fired()).toBe(3);
    faulty.clearRules();
    expect((await faulty.get('a')).toString()).toBe('a');
  });
});
