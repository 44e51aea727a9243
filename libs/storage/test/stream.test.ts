import { randomBytes } from 'node:crypto';
import { keyedId } from '@pbk/crypto';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SealAheadGauge, SealPool, storeStream, TreeBuilder, type StreamContext } from '../src/archiver/index.js';
import { openChunk } from '../src/blob/index.js';
import type { SealedBlob } from '../src/pack/index.js';
import type { BlobSink } from '../src/snapshot/index.js';
import { StorageError, UnsafePathError } from '../src/errors.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { saveSnapshot, loadSnapshot } from '../src/snapshot/index.js';
import { verifyRepository } from '../src/verify/index.js';
import { useRepoFixture } from './helpers.js';

const source = { host: 'test-host', kind: 'postgres' as const, name: 'db' };
const META = { mode: 0o640, uid: 0, gid: 0, mtimeNs: '1700000000000000000' };

async function* pieces(data: Buffer, size: number, afterEach?: (done: number) => void): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    yield Buffer.from(data.subarray(i, i + size));
    afterEach?.(i + size);
  }
}

/** Half random, half repetitive text: chunks of every size TEST_CHUNKER cuts, some compressible. */
function mixedData(bytes: number): Buffer {
  const text = Buffer.from('2024-01-01 12:00:00 LOG:  checkpoint complete: wrote 42 buffers\n'.repeat(Math.ceil(bytes / 128)));
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes; i++) {
    const n = Math.min(bytes - at, 20_000 + ((i * 7919) % 50_000));
    parts.push(i % 2 === 0 ? randomBytes(n) : text.subarray(at % 1000, (at % 1000) + n));
    at += n;
  }
  return Buffer.concat(parts);
}

/**
 * Wraps a sink and checks the claim contract: every id the stream was told to
 * upload is afterwards either added or released. `failClaimAt` makes that call
 * of claimMissing fail; claims answer after `delayMs`, like a gRPC round trip.
 */
function auditedSink(inner: BlobSink, opts: { failClaimAt?: number; delayMs?: number } = {}) {
  const claimed = new Set<string>();
  const added = new Set<string>();
  const released = new Set<string>();
  let calls = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let maxWorkers = 0;
  const sink: BlobSink = {
    async claimMissing(ids) {
      const call = ++calls;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
        if (call === opts.failClaimAt) throw new Error('the coordinator went away');
        const need = await inner.claimMissing(ids);
        ids.forEach((id, i) => need[i] && claimed.add(id.toString('hex')));
        return need;
      } finally {
        concurrent--;
      }
    },
    async addBlob(blob) {
      maxWorkers = Math.max(maxWorkers, SealPool.running);
      added.add(blob.id.toString('hex'));
      await inner.addBlob(blob);
    },
    releaseClaims(ids) {
      for (const id of ids) released.add(id.toString('hex'));
      inner.releaseClaims?.(ids);
    },
  };
  return {
    sink,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get maxWorkers() {
      return maxWorkers;
    },
    check(): void {
      for (const id of claimed) expect(added.has(id) !== released.has(id), `claimed ${id} must be added or released, once`).toBe(true);
      for (const id of added) expect(claimed.has(id)).toBe(true);
    },
  };
}

/** A sink that lacks everything and keeps what it is given. */
function memorySink(): BlobSink & { blobs: SealedBlob[]; maxWorkers: number } {
  const sink = {
    blobs: [] as SealedBlob[],
    maxWorkers: 0,
    claimMissing: (ids: readonly Buffer[]) => ids.map(() => true),
    addBlob: async (b: SealedBlob) => {
      sink.maxWorkers = Math.max(sink.maxWorkers, SealPool.running);
      sink.blobs.push(b);
    },
  };
  return sink;
}

describe('streams into the repository', () => {
  const fx = useRepoFixture();

  it('stores a stream as chunks whose cuts do not depend on how it was split, and restores it byte for byte', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const ctx = { sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions };
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const a = await storeStream(ctx, pieces(data, 65536));
    const b = await storeStream(ctx, pieces(data, 1000));
    expect(a.size).toBe(data.length);
    expect(b.content).toEqual(a.content);
    expect(b.blobsNew).toBe(0); // everything deduplicated

    const tree = new TreeBuilder({ mode: 0o700, uid: 0, gid: 0, mtimeNs: META.mtimeNs });
    tree.addFile('base/1/16384', META, a);
    tree.addSymlink('pg_tblspc/16500', { ...META, mode: 0o777 }, '/srv/ts1');
    tree.addDir('base', { ...META, mode: 0o700 });
    tree.addFile('PG_VERSION', META, await storeStream(ctx, pieces(Buffer.from('15\n'), 10)));
    const saved = await tree.save(repo, dek, repo.keys.master.idKey);
    await repo.flush();
    const id = await saveSnapshot(repo, { version: 1, time: new Date().toISOString(), source, tags: [], tree: saved.root, dekId: dek.id.toString('hex'), paths: [], summary: { files: 2, dirs: 3, bytesTotal: data.length + 3, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, errors: [], durationMs: 1 } });
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(repo, await loadSnapshot(repo, id), out);
    expect((await readFile(join(out, 'base/1/16384'))).equals(data)).toBe(true);
    expect(await readFile(join(out, 'PG_VERSION'), 'utf8')).toBe('15\n');
    expect(await readlink(join(out, 'pg_tblspc/16500'))).toBe('/srv/ts1');
    expect((await stat(join(out, 'base/1/16384'))).mode & 0o777).toBe(0o640);
    expect(tree.files).toBe(2);
    expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
  });

  it('cuts every fixedChunkBytes and hands each uploaded chunk its delta hint by chunk index', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const idKey = repo.keys.master.idKey;
    const MIB = 1024 * 1024;
    const data = randomBytes(5 * MIB + 100);
    const have = new Set<string>();
    const added: { id: string; hint: string | undefined; length: number }[] = [];
    const sink: BlobSink = {
      claimMissing: (ids) => ids.map((id) => !have.has(id.toString('hex'))),
      addBlob: async (blob, hint) => {
        have.add(blob.id.toString('hex'));
        added.push({ id: blob.id.toString('hex'), hint: hint?.toString('hex'), length: blob.rawLength });
      },
    };
    const hints = [Buffer.alloc(32, 1), undefined, Buffer.alloc(32, 3), Buffer.alloc(32, 4), Buffer.alloc(32, 5)];
    // Batches smaller than the stream: chunk indexes must run on across them.
    const ctx: StreamContext = { sink, dek, idKey, chunker: repo.chunkerOptions, fixedChunkBytes: MIB, claimBatchBytes: 2 * MIB, workers: 0, deltaHint: (i) => hints[i] };
    const first = await storeStream(ctx, pieces(data, 100_000));
    expect(added.map((a) => a.length)).toEqual([MIB, MIB, MIB, MIB, MIB, 100]);
    expect(added.map((a) => a.hint)).toEqual(hints.map((h) => h?.toString('hex')).concat([undefined]));
    expect(added.map((a) => a.id)).toEqual(first.content);

    // Chunk 2 changed by one byte: only it is uploaded, with the hint of index 2.
    const edited = Buffer.from(data);
    edited[2 * MIB + 10]! ^= 0xff;
    added.length = 0;
    const second = await storeStream(ctx, pieces(edited, 65536));
    expect(added).toEqual([{ id: second.content[2], hint: hints[2]!.toString('hex'), length: MIB }]);
    expect(second.content.filter((id, i) => id !== first.content[i])).toHaveLength(1);
  });

  it('refuses entry paths that would leave the tree, without storing anything', () => {
    const tree = new TreeBuilder(META);
    const stored = { content: [], size: 0 };
    expect(() => tree.addFile('../etc/passwd', META, stored)).toThrow(UnsafePathError);
    expect(() => tree.addFile('/etc/passwd', META, stored)).toThrow(StorageError);
    expect(() => tree.addFile('a/../../b', META, stored)).toThrow(StorageError);
    tree.addFile('a', META, stored);
    expect(() => tree.addFile('a/b', META, stored)).toThrow(/is a file, not a directory/);
  });

  it('stops when its signal is aborted', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(storeStream({ sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, signal: controller.signal }, pieces(randomBytes(1000), 100))).rejects.toThrow('stop now');
  });

  it('ids and seals in workers exactly what the single-thread path does, in the same order', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    // Past the size at which a stream starts its own workers (OWN_POOL_AFTER_BYTES, 32 MiB).
    const data = mixedData(36 * 1024 * 1024);
    const base = { dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, claimBatchBytes: 1024 * 1024 };
    const one = memorySink();
    const inline = await storeStream({ ...base, sink: one, workers: 0 }, pieces(data, 256 * 1024));
    expect(one.maxWorkers).toBe(0);
    const two = memorySink();
    const parallel = await storeStream({ ...base, sink: two, workers: 2 }, pieces(data, 256 * 1024));
    expect(two.maxWorkers).toBe(2);
    expect(SealPool.running).toBe(0);
    expect(parallel.content).toEqual(inline.content);
    expect(parallel.size).toBe(data.length);
    expect(parallel.blobsNew).toBe(inline.blobsNew);
    expect(parallel.bytesNewStored).toBe(inline.bytesNewStored); // zstd is deterministic; nonces differ, lengths do not
    expect(two.blobs.map((b) => b.id.toString('hex'))).toEqual(one.blobs.map((b) => b.id.toString('hex')));
    // The content list, read back through the blobs the workers sealed, is the data (a chunk that repeats is stored once).
    const plain = new Map(two.blobs.map((b) => [b.id.toString('hex'), openChunk(dek, repo.keys.master.idKey, b.id, b.sealed, b.rawLength)]));
    const restored = Buffer.concat(parallel.content.map((hex) => plain.get(hex)!));
    expect(restored.equals(data)).toBe(true);

    // A caller's pool: every batch of 1 MiB or more goes through it, from the first.
    const pool = new SealPool({ dek, idKey: repo.keys.master.idKey, workers: 2 });
    try {
      const three = memorySink();
      const pooled = await storeStream({ ...base, sink: three, pool }, pieces(data.subarray(0, 4 * 1024 * 1024), 256 * 1024));
      expect(pooled.content.slice(0, -1)).toEqual(inline.content.slice(0, pooled.content.length - 1));
      expect(pool.pending).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('seals ahead of the claim while nearly everything is missing, stops when the sink has it, and never detaches the caller\'s pieces', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const idKey = repo.keys.master.idKey;
    const MIB = 1024 * 1024;
    const pool = new SealPool({ dek, idKey, workers: 2 });
    try {
      const gauge = new SealAheadGauge();
      const audit = auditedSink(repo, { delayMs: 2 });
      const ctx: StreamContext = { sink: audit.sink, dek, idKey, chunker: repo.chunkerOptions, pool, sealAhead: gauge, fixedChunkBytes: 256 * 1024, claimBatchBytes: MIB };
      const data = mixedData(12 * MIB + 5000);
      // Pieces of the chunk size come out as views of them (the caller's, copied to the workers);
      // smaller pieces are assembled into chunks of the stream's own (moved to the workers).
      const whole: Buffer[] = [];
      const first = await storeStream(ctx, (async function* () {
        for (let at = 0; at < data.length; at += 256 * 1024) {
          const piece = Buffer.from(data.subarray(at, at + 256 * 1024));
          whole.push(piece);
          yield piece;
        }
      })());
      expect(whole.every((p, i) => p.equals(data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024)))).toBe(true);
      const small: Buffer[] = [];
      const second = await storeStream({ ...ctx, sealAhead: new SealAheadGauge() }, (async function* () {
        for (let at = 0; at < data.length; at += 40_000) {
          const piece = Buffer.from(data.subarray(at, at + 40_000));
          small.push(piece);
          yield piece;
        }
      })());
      expect(small.every((p, i) => p.equals(data.subarray(i * 40_000, (i + 1) * 40_000)))).toBe(true);
      expect(second.content).toEqual(first.content);
      expect(second.blobsNew).toBe(0);
      // The first batch asks first; the rest of a first backup is sealed ahead, none of it for nothing.
      expect(first.phases.batchesAhead).toBeGreaterThan(5);
      expect(first.phases.sealedForNothing).toBe(0);
      expect(first.blobsNew).toBe(first.content.length);
      // A fresh gauge asks first, learns the sink has everything, and never seals ahead.
      expect(second.phases.batchesAhead).toBe(0);

      // The same data again with the first stream's gauge (still on): the few batches sealed ahead are dropped, then it asks first.
      const third = await storeStream(ctx, pieces(data, 100_000));
      expect(third.content).toEqual(first.content);
      expect(third.blobsNew).toBe(0);
      expect(third.phases.batchesAhead).toBeGreaterThan(0);
      expect(third.phases.batchesAhead).toBeLessThan(5);
      expect(third.phases.sealedForNothing).toBe(third.phases.batchesAhead * 4);
      expect(gauge.active).toBe(false);
      expect(pool.pending).toBe(0);
      audit.check();

      await repo.flush();
      expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
      const plain = await Promise.all(first.content.map(async (hex) => repo.readBlob(Buffer.from(hex, 'hex'))));
      expect(Buffer.concat(plain).equals(data)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('with moveInput, hands whole pieces to the workers by transfer and joins fixed chunks there, to the same ids and bytes', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const idKey = repo.keys.master.idKey;
    const pool = new SealPool({ dek, idKey, workers: 2 });
    try {
      const size = 256 * 1024;
      const data = mixedData(6 * size + 3000);
      const want = [];
      for (let at = 0; at < data.length; at += size) want.push(keyedId(idKey, data.subarray(at, at + size)).toString('hex'));
      // Sealing ahead from the first batch (as in a first backup after a few members); pieces that do not divide the chunk size.
      const gauge = new SealAheadGauge();
      gauge.record(64, 64);
      const given: Buffer[] = [];
      const ctx: StreamContext = { sink: repo, dek, idKey, chunker: repo.chunkerOptions, pool, sealAhead: gauge, fixedChunkBytes: size, claimBatchBytes: 2 * size, moveInput: true };
      const stored = await storeStream(ctx, (async function* () {
        for (let at = 0; at < data.length; at += 40_000) {
          const piece = Buffer.from(data.subarray(at, at + 40_000));
          given.push(piece);
          yield piece;
        }
      })());
      expect(stored.content).toEqual(want);
      expect(stored.phases.batchesAhead).toBe(4);
      // Whole pieces were moved (detached here); the ones cut by a chunk boundary were copied.
      const moved = given.filter((p) => p.length === 0).length;
      expect(moved).toBeGreaterThan(given.length / 2);
      expect(moved).toBeLessThan(given.length);
      await repo.flush();
      const plain = await Promise.all(stored.content.map(async (hex) => repo.readBlob(Buffer.from(hex, 'hex'))));
      expect(Buffer.concat(plain).equals(data)).toBe(true);
      expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('reuses a caller-owned seal pool across streams and leaves it running and idle', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const pool = new SealPool({ dek, idKey: repo.keys.master.idKey, workers: 2 });
    try {
      const ctx: StreamContext = { sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, pool, claimBatchBytes: 1024 * 1024 };
      const datas = [mixedData(3_000_000), mixedData(700_000), Buffer.from('tiny'), mixedData(2_500_000)];
      const stored = [];
      for (const d of datas) stored.push(await storeStream(ctx, pieces(d, 65536)));
      expect(SealPool.running).toBe(2);
      expect(pool.pending).toBe(0);
      expect(stored.map((s) => s.size)).toEqual(datas.map((d) => d.length));
      await repo.flush();
      expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
      const other = await repo.keys.newDek();
      await expect(storeStream({ ...ctx, dek: other }, pieces(datas[0]!, 65536))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(storeStream({ ...ctx, idKey: randomBytes(32) }, pieces(datas[0]!, 65536))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await pool.close();
    }
    expect(SealPool.running).toBe(0);
  });

  it('rejects an abort mid-stream, with claims settled and no worker left running', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const controller = new AbortController();
    const audit = auditedSink(repo, { delayMs: 2 });
    const data = mixedData(40 * 1024 * 1024);
    // Aborted once the stream's own workers run (they start at 32 MiB).
    const input = pieces(data, 256 * 1024, (done) => done >= 36 * 1024 * 1024 && controller.abort(new Error('stop now')));
    const ctx = { sink: audit.sink, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, claimBatchBytes: 1024 * 1024, workers: 2, signal: controller.signal };
    await expect(storeStream(ctx, input)).rejects.toThrow('stop now');
    expect(audit.maxWorkers).toBe(2);
    expect(SealPool.running).toBe(0);
    audit.check();
    await repo.flush();
  });

  it('rejects cleanly when a claim fails while other batches are in flight', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const pool = new SealPool({ dek, idKey: repo.keys.master.idKey, workers: 2 });
    try {
      const audit = auditedSink(repo, { failClaimAt: 4, delayMs: 5 });
      const ctx = { sink: audit.sink, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, claimBatchBytes: 1024 * 1024, pool };
      await expect(storeStream(ctx, pieces(mixedData(8 * 1024 * 1024), 64 * 1024))).rejects.toThrow('the coordinator went away');
      expect(audit.maxConcurrent).toBe(2); // claims overlapped, and never more than two batches at once
      expect(pool.pending).toBe(0);
      audit.check();
      // The pool and the repository are still usable: a later stream stores it all.
      const again = await storeStream({ ...ctx, sink: repo }, pieces(mixedData(3 * 1024 * 1024), 64 * 1024));
      expect(again.size).toBe(3 * 1024 * 1024);
      await repo.flush();
      expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
    } finally {
      await pool.close();
    }
    expect(SealPool.running).toBe(0);
  });
});
