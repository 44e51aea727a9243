/**
 * The one suite every Backend must pass (restic's internal/backend/test/suite.go): call
 * `describeBackendContract(name, make)` from a backend's test file. `make` returns a fresh,
 * empty backend and a cleanup for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, ByteRange } from '../src/backend/backend.js';
import { CancelledError, NotFoundError, StorageError } from '../src/errors.js';

export interface BackendFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Size of the large streamed put. Default 32 MiB. */
  streamBytes?: number;
  /** How much memory may grow during it. Default 8 MiB; object stores that hold multipart parts need more. */
  streamMemoryBytes?: number;
}

const MiB = 1 << 20;

export async function listNames(backend: Backend, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const info of backend.list(prefix)) names.push(info.name);
  return names.sort();
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

export async function* chunksOf(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield chunk;
}

/** Resolves to the error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got a result');
}

function expectCode(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).code).toBe(code);
}

/** `gc()` without --expose-gc, so memory can be measured without counting garbage. */
function getGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const never = new Promise<never>(() => undefined);

export function describeBackendContract(name: string, make: () => Promise<BackendFixture>, options: ContractOptions = {}): void {
  const streamBytes = options.streamBytes ?? 32 * MiB;
  const streamMemoryBytes = options.streamMemoryBytes ?? 8 * MiB;

  describe(`Backend contract: ${name}`, () => {
    let fixture: BackendFixture;
    let backend: Backend;

    beforeEach(async () => {
      fixture = await make();
      backend = fixture.backend;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('round-trips Buffers, empty objects and nested names', async () => {
      const data = randomBytes(100_000);
      await backend.put('data/3f/3fa9', data);
      await backend.put('config', Buffer.from('{}\n'));
      await backend.put('empty', Buffer.alloc(0));
      expect((await backend.get('data/3f/3fa9')).equals(data)).toBe(true);
      expect((await backend.get('config')).toString()).toBe('{}\n');
      expect((await backend.get('empty')).length).toBe(0);
      expect((await readAll(backend.createReadStream('data/3f/3fa9'))).equals(data)).toBe(true);
      expect((await readAll(backend.createReadStream('empty'))).length).toBe(0);
    });

    it('reports sizes through stat and list, right after put', async () => {
      await backend.put('a/zero', Buffer.alloc(0));
      await backend.put('a/one', Buffer.from([7]));
      await backend.put('a/big', randomBytes(123_457));
      expect(await backend.stat('a/zero')).toMatchObject({ name: 'a/zero', size: 0 });
      expect(await backend.stat('a/one')).toMatchObject({ name: 'a/one', size: 1 });
      const big = await backend.stat('a/big');
      expect(big).toMatchObject({ name: 'a/big', size: 123_457 });
      if (big.modified !== undefined) {
        expect(big.modified).toBeInstanceOf(Date);
        expect(Math.abs(big.modified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      }
      const sizes = new Map<string, number>();
      for await (const info of backend.list('a/')) sizes.set(info.name, info.size);
      expect(Object.fromEntries(sizes)).toEqual({ 'a/zero': 0, 'a/one': 1, 'a/big': 123_457 });
    });

    it('lists by prefix, recursively, and forgets deleted objects', async () => {
      for (const n of ['data/aa/1', 'data/aa/2', 'data/ab/3', 'data/bb/4', 'index/x', 'config', 'configure']) {
        await backend.put(n, Buffer.from(n));
      }
      expect(await listNames(backend)).toEqual(['config', 'configure', 'data/aa/1', 'data/aa/2', 'data/ab/3', 'data/bb/4', 'index/x']);
      expect(await listNames(backend, 'data/')).toEqual(['data/aa/1', 'data/aa/2', 'data/ab/3', 'data/bb/4']);
      expect(await listNames(backend, 'data/aa/')).toEqual(['data/aa/1', 'data/aa/2']);
      expect(await listNames(backend, 'data/a')).toEqual(['data/aa/1', 'data/aa/2', 'data/ab/3']);
      expect(await listNames(backend, 'conf')).toEqual(['config', 'configure']);
      expect(await listNames(backend, 'config')).toEqual(['config', 'configure']);
      expect(await listNames(backend, 'snapshots/')).toEqual([]);
      expect(await listNames(backend, 'index/x/')).toEqual([]);
      await backend.delete('data/aa/1');
      await backend.delete('config');
      expect(await listNames(backend)).toEqual(['configure', 'data/aa/2', 'data/ab/3', 'data/bb/4', 'index/x']);
    });

    describe('range reads', () => {
      const object = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      const cases: Array<[string, ByteRange, Buffer]> = [
        ['start', { offset: 0, length: 10 }, object.subarray(0, 10)],
        ['middle', { offset: 500, length: 100 }, object.subarray(500, 600)],
        ['end, open-ended', { offset: 990 }, object.subarray(990)],
        ['end, exact', { offset: 990, length: 10 }, object.subarray(990)],
        ['whole, open-ended', { offset: 0 }, object],
        ['zero-length inside', { offset: 10, length: 0 }, Buffer.alloc(0)],
        ['zero-length at the end', { offset: 1000, length: 0 }, Buffer.alloc(0)],
        ['open-ended at the end', { offset: 1000 }, Buffer.alloc(0)],
        // The documented choice (backend.ts, ByteRange): past the end yields the short tail.
        ['length past the end: short tail', { offset: 995, length: 10 }, object.subarray(995)],
        ['offset past the end: empty', { offset: 1001, length: 5 }, Buffer.alloc(0)],
        ['offset far past the end: empty', { offset: 1 << 30 }, Buffer.alloc(0)],
      ];
      for (const [label, range, expected] of cases) {
        it(`get and createReadStream: ${label}`, async () => {
          await backend.put('r', object);
          expect((await backend.get('r', range)).equals(expected)).toBe(true);
          expect((await readAll(backend.createReadStream('r', range))).equals(expected)).toBe(true);
        });
      }

      it('reads ranges that cross stream chunk boundaries', async () => {
        const big = randomBytes(3 * MiB + 17);
        await backend.put('big', big);
        const range = { offset: MiB - 7, length: MiB + 20 };
        const expected = big.subarray(range.offset, range.offset + range.length);
        expect((await backend.get('big', range)).equals(expected)).toBe(true);
        expect((await readAll(backend.createReadStream('big', range))).equals(expected)).toBe(true);
        expect((await readAll(backend.createReadStream('big', { offset: 2 * MiB }))).equals(big.subarray(2 * MiB))).toBe(true);
      });

      it('rejects negative and fractional ranges with INVALID_ARGUMENT', async () => {
        await backend.put('r', object);
        for (const range of [{ offset: -1 }, { offset: 1.5 }, { offset: 0, length: -1 }, { offset: 0, length: 0.5 }, { offset: Number.NaN }]) {
          expectCode(await rejection(backend.get('r', range)), 'INVALID_ARGUMENT');
          expectCode(await rejection(readAll(backend.createReadStream('r', range))), 'INVALID_ARGUMENT');
        }
      });
    });

    it('replaces an object atomically: readers see the old or the new one, never a mix', async () => {
      const a = Buffer.alloc(4 * MiB, 'a');
      const b = Buffer.alloc(4 * MiB + 1, 'b');
      await backend.put('obj', a);
      let writing = true;
      const write = backend.put('obj', b).finally(() => {
        writing = false;
      });
      let reads = 0;
      do {
        const got = await backend.get('obj');
        expect(got.equals(a) || got.equals(b)).toBe(true);
        reads++;
      } while (writing);
      await write;
      expect(reads).toBeGreaterThan(0);
      expect((await backend.get('obj')).equals(b)).toBe(true);
      expect((await backend.stat('obj')).size).toBe(b.length);
      expect(await listNames(backend)).toEqual(['obj']);
    });

    it('reports a missing object as NotFoundError from get, stat and createReadStream', async () => {
      await backend.put('dir/child', Buffer.from('x'));
      for (const missing of ['nothing', 'dir/nothing', 'dir/child/deeper', 'dir']) {
        for (const err of [
          await rejection(backend.get(missing)),
          await rejection(backend.get(missing, { offset: 0, length: 1 })),
          await rejection(backend.stat(missing)),
          await rejection(readAll(backend.createReadStream(missing))),
        ]) {
          expect(err).toBeInstanceOf(NotFoundError);
          expect((err as NotFoundError).code).toBe('NOT_FOUND');
          expect((err as NotFoundError).objectName).toBe(missing);
        }
      }
    });

    it('deletes idempotently', async () => {
      await backend.delete('never-existed');
      await backend.delete('no/such/folder');
      await backend.put('d/x', Buffer.from('x'));
      await backend.delete('d/x');
      await backend.delete('d/x');
      expect(await rejection(backend.get('d/x'))).toBeInstanceOf(NotFoundError);
      expect(await listNames(backend)).toEqual([]);
    });

    it('rejects invalid names with INVALID_ARGUMENT before touching anything', async () => {
      const bad = ['', '/abs', '/', 'a//b', 'a/', '../x', 'a/../b', 'a/./b', '..', '.', '.hidden', 'a/.tmp-0123abcd', 'sp ace', 'tab\t', 'back\\slash', 'caf\u00e9', 'nul\u0000', 'x'.repeat(256), `${'a/'.repeat(600)}a`];
      for (const name of bad) {
        expectCode(await rejection(backend.put(name, Buffer.from('x'))), 'INVALID_ARGUMENT');
        expectCode(await rejection(backend.put(name, chunksOf(Buffer.from('x')))), 'INVALID_ARGUMENT');
        expectCode(await rejection(backend.get(name)), 'INVALID_ARGUMENT');
        expectCode(await rejection(backend.stat(name)), 'INVALID_ARGUMENT');
        expectCode(await rejection(backend.delete(name)), 'INVALID_ARGUMENT');
        expectCode(await rejection(readAll(backend.createReadStream(name))), 'INVALID_ARGUMENT');
      }
      for (const prefix of ['/abs', '../', 'a//', '.tmp-', 'a/.x', 'sp ace/']) {
        expectCode(await rejection(listNames(backend, prefix)), 'INVALID_ARGUMENT');
      }
      expect(await listNames(backend)).toEqual([]);
    });

    it(`streams a large multi-chunk put (${streamBytes / MiB} MiB) in bounded memory`, async () => {
      const gc = getGc();
      const chunkBytes = MiB + 3; // odd size: chunk and block boundaries do not line up
      const expected = createHash('sha256');
      let peak = 0;
      gc?.();
      const base = process.memoryUsage().arrayBuffers;
      async function* source(): AsyncGenerator<Buffer> {
        for (let sent = 0, i = 0; sent < streamBytes; i++) {
          const chunk = Buffer.alloc(Math.min(chunkBytes, streamBytes - sent), i % 251);
          chunk.writeUInt32BE(i, 0);
          expected.update(chunk);
          sent += chunk.length;
          yield chunk;
          if (gc) {
            gc();
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
          }
        }
      }
      await backend.put('data/big/stream', source());
      expect((await backend.stat('data/big/stream')).size).toBe(streamBytes);
      const actual = createHash('sha256');
      for await (const chunk of backend.createReadStream('data/big/stream') as AsyncIterable<Buffer>) actual.update(chunk);
      expect(actual.digest('hex')).toBe(expected.digest('hex'));
      if (gc) expect(peak).toBeLessThan(streamMemoryBytes);
    });

    it('puts an empty stream as an empty object', async () => {
      await backend.put('e', chunksOf());
      expect((await backend.stat('e')).size).toBe(0);
    });

    describe('cancellation', () => {
      it('rejects an already aborted operation with CancelledError and stores nothing', async () => {
        const signal = AbortSignal.abort();
        expect(await rejection(backend.put('x', Buffer.from('x'), { signal }))).toBeInstanceOf(CancelledError);
        expect(await rejection(backend.put('x', chunksOf(Buffer.from('x')), { signal }))).toBeInstanceOf(CancelledError);
        await backend.put('y', Buffer.from('y'));
        expect(await rejection(backend.get('y', undefined, { signal }))).toBeInstanceOf(CancelledError);
        expect(await rejection(backend.stat('y', { signal }))).toBeInstanceOf(CancelledError);
        expect(await rejection(readAll(backend.createReadStream('y', undefined, { signal })))).toBeInstanceOf(CancelledError);
        expect(await listNames(backend)).toEqual(['y']);
      });

      it('an abort mid-put, while the source stalls, leaves no object and no temp file in list', async () => {
        const controller = new AbortController();
        async function* stalls(): AsyncGenerator<Buffer> {
          for (let i = 0; i < 3; i++) yield randomBytes(256 * 1024);
          controller.abort();
          await never;
        }
        const err = await rejection(backend.put('data/cc/aborted', stalls(), { signal: controller.signal }));
        expect(err).toBeInstanceOf(CancelledError);
        expect(await rejection(backend.stat('data/cc/aborted'))).toBeInstanceOf(NotFoundError);
        expect(await listNames(backend)).toEqual([]);
      });

      it('an abort mid-put, while the source keeps flowing, leaves the old object in place', async () => {
        await backend.put('kept', Buffer.from('old'));
        const controller = new AbortController();
        async function* flows(): AsyncGenerator<Buffer> {
          for (let i = 0; i < 64; i++) {
            if (i === 4) controller.abort();
            yield randomBytes(64 * 1024);
          }
        }
        expect(await rejection(backend.put('kept', flows(), { signal: controller.signal }))).toBeInstanceOf(CancelledError);
        expect((await backend.get('kept')).toString()).toBe('old');
        expect(await listNames(backend)).toEqual(['kept']);
      });

      it('an abort mid-read errors the stream with CancelledError', async () => {
        await backend.put('long', randomBytes(4 * MiB));
        const controller = new AbortController();
        const stream = backend.createReadStream('long', undefined, { signal: controller.signal });
        const err = await new Promise<unknown>((resolve) => {
          stream.once('data', () => controller.abort());
          stream.once('error', resolve);
          stream.once('end', () => resolve(undefined));
        });
        expect(err).toBeInstanceOf(CancelledError);
      });
    });

    describe('torn writes', () => {
      it('a source that throws mid-put leaves no object and nothing in list', async () => {
        async function* breaks(): AsyncGenerator<Buffer> {
          yield randomBytes(300_000);
          yield randomBytes(300_000);
          throw new Error('upstream read failed');
        }
        const err = await rejection(backend.put('data/dd/torn', breaks()));
        expect(err).toBeInstanceOf(StorageError);
        expect(err).not.toBeInstanceOf(CancelledError);
        expect(((err as StorageError).cause as Error).message).toBe('upstream read failed');
        expect(await rejection(backend.stat('data/dd/torn'))).toBeInstanceOf(NotFoundError);
        expect(await listNames(backend)).toEqual([]);
      });

      it('a failed overwrite keeps the previous object whole', async () => {
        const old = randomBytes(200_000);
        await backend.put('o', old);
        async function* breaks(): AsyncGenerator<Buffer> {
          yield randomBytes(500_000);
          throw new Error('boom');
        }
        expect(await rejection(backend.put('o', breaks()))).toBeInstanceOf(StorageError);
        expect((await backend.get('o')).equals(old)).toBe(true);
        expect(await listNames(backend)).toEqual(['o']);
      });

      it("passes the source's own StorageError through unchanged", async () => {
        const mine = new StorageError('CORRUPT', 'chunk failed its check upstream');
        async function* breaks(): AsyncGenerator<Buffer> {
          yield Buffer.from('partial');
          throw mine;
        }
        expect(await rejection(backend.put('p', breaks()))).toBe(mine);
        expect(await listNames(backend)).toEqual([]);
      });
    });

    it('runs concurrent puts to different names, including into new shared folders', async () => {
      const objects = Array.from({ length: 24 }, (_, i) => ({ name: `data/${(i % 3).toString(16).padStart(2, '0')}/obj-${i}`, data: randomBytes(1000 + i * 997) }));
      await Promise.all(objects.map((o, i) => backend.put(o.name, i % 2 === 0 ? o.data : chunksOf(o.data.subarray(0, 500), o.data.subarray(500)))));
      expect(await listNames(backend)).toEqual(objects.map((o) => o.name).sort());
      for (const o of objects) expect((await backend.get(o.name)).equals(o.data)).toBe(true);
    });
  });
}
