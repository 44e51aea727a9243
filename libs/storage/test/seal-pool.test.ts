import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyedId } from '@pbk/crypto';
import { ownsMemory, SealAheadGauge, SealPool } from '../src/archiver/index.js';
import { openChunk } from '../src/blob/index.js';
import { pageLike, useRepoFixture } from './helpers.js';

describe('SealPool', () => {
  const fx = useRepoFixture();

  it('ids and seals in one trip what id() then seal() give, moving only buffers that own their memory', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const pool = new SealPool({ dek, idKey, workers: 2 });
    try {
      const plain = pageLike(1024 * 1024);
      const want = keyedId(idKey, plain);

      // Copied: the caller's buffer stays intact, whether or not it owns its memory.
      const kept = Buffer.from(plain);
      const ided = await pool.id(kept);
      expect(ided.id.equals(want)).toBe(true);
      expect(ided.chunk).toBe(kept);
      expect(kept.equals(plain)).toBe(true);

      // Moved to the worker and back: the same bytes return, the buffer passed in is detached meanwhile.
      const moving = Buffer.from(plain);
      expect(ownsMemory(moving)).toBe(true);
      const pending = pool.id(moving, true);
      expect(moving.length).toBe(0);
      const back = await pending;
      expect(back.id.equals(want)).toBe(true);
      expect(back.chunk.equals(plain)).toBe(true);

      // A view into a larger buffer is never moved, even when asked: the rest of that memory is someone else's.
      const big = Buffer.concat([plain, Buffer.alloc(4096, 1)]);
      const view = big.subarray(0, plain.length);
      expect(ownsMemory(view)).toBe(false);
      const fromView = await pool.idAndSeal(view, true);
      expect(big.length).toBe(plain.length + 4096);
      expect(view.equals(plain)).toBe(true);
      expect(fromView.id.equals(want)).toBe(true);
      expect(fromView.rawLength).toBe(plain.length);

      // One trip, moved: id, raw length and sealed bytes as sealChunk gives them (a moved chunk's length is read before it goes).
      const oneTrip = await pool.idAndSeal(back.chunk, true);
      expect(back.chunk.length).toBe(0);
      expect(oneTrip.id.equals(want)).toBe(true);
      expect(oneTrip.rawLength).toBe(plain.length);
      expect(oneTrip.dekId.equals(dek.id)).toBe(true);
      expect(openChunk(dek, idKey, oneTrip.id, oneTrip.sealed, oneTrip.rawLength).equals(plain)).toBe(true);

      const moved = Buffer.from(plain);
      const twoTrips = await pool.seal(want, moved, true);
      expect(moved.length).toBe(0);
      expect(twoTrips.rawLength).toBe(plain.length);
      expect(twoTrips.sealed.length).toBe(oneTrip.sealed.length); // same zstd output, other nonce
      expect(openChunk(dek, idKey, want, twoTrips.sealed, twoTrips.rawLength).equals(plain)).toBe(true);

      // Random bytes (stored, not compressed) go through the same way.
      const random = randomBytes(300_000);
      const r = await pool.idAndSeal(Buffer.from(random), true);
      expect(openChunk(dek, idKey, r.id, r.sealed, r.rawLength).equals(random)).toBe(true);
      expect(pool.pending).toBe(0);
    } finally {
      await pool.close();
    }
    expect(SealPool.running).toBe(0);
  });
});

describe('SealAheadGauge', () => {
  it('turns on once the recent claims were nearly all missing, and off when they were not', () => {
    const g = new SealAheadGauge(0.9, 64);
    expect(g.active).toBe(false); // nothing claimed yet: ask first
    g.record(0, 0);
    expect(g.active).toBe(false);
    g.record(32, 32);
    expect(g.active).toBe(true);
    g.record(32, 28); // 60 of 64
    expect(g.active).toBe(true);
    g.record(32, 0); // the window drops the oldest claim: 28 of 64
    expect(g.active).toBe(false);
    for (let i = 0; i < 8; i++) g.record(8, 8);
    expect(g.active).toBe(true); // the misses left the window
    g.record(1, 0); // one present chunk among 64 keeps it on
    expect(g.active).toBe(true);
  });

  it('judges a single claim larger than the window by itself', () => {
    const g = new SealAheadGauge(0.9, 64);
    g.record(200, 10);
    expect(g.active).toBe(false);
    g.record(500, 499);
    expect(g.active).toBe(true);
  });
});
