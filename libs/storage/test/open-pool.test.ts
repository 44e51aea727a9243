import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyedId } from '@pbk/crypto';
import { DEFAULT_OPEN_INLINE_BELOW, OpenPool, runOpenJob } from '../src/archiver/index.js';
import { ownCopy as compact } from '../src/archiver/messages.js';
import { sealChunk } from '../src/blob/index.js';
import { BlobCorruptError, CancelledError } from '../src/errors.js';
import { useRepoFixture } from './helpers.js';

describe('OpenPool', () => {
  const fx = useRepoFixture();

  it('opens and verifies blobs of several data keys in workers, as openChunk does', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const deks = [await repo.keys.newDek(), await repo.keys.newDek()];
    // Compressible and random, large (worker) and tiny (inline).
    const plains = [Buffer.alloc(3_000_000, 'pbk '), randomBytes(1_500_000), Buffer.from('tiny'), randomBytes(200_000)];
    const blobs = plains.map((p, i) => sealChunk(deks[i % 2]!, 'data', keyedId(idKey, p), p));
    const pool = new OpenPool({ workers: 2 });
    try {
      const opened = await Promise.all(blobs.map((b, i) => pool.open(deks[i % 2]!, idKey, b.id, b.sealed, b.rawLength)));
      opened.forEach((o, i) => expect(o.equals(plains[i]!)).toBe(true));
      await Promise.all(blobs.map((b, i) => pool.verify(deks[i % 2]!, idKey, b.id, b.sealed, b.rawLength)));
      // The caller's sealed bytes were copied, never detached.
      expect(blobs[0]!.sealed.length).toBeGreaterThan(0);
      expect(pool.pending).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('sends keys and ids that are views into large buffers (a decoded ~1 MiB message) without their whole memory', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const plain = Buffer.alloc(100_000, 'page ');
    const b = sealChunk(dek, 'data', keyedId(repo.keys.master.idKey, plain), plain);
    // As protobufjs decodes them: short views into one message buffer.
    const message = Buffer.alloc(1 << 20);
    const view = (x: Buffer, at: number): Buffer => {
      x.copy(message, at);
      return message.subarray(at, at + x.length);
    };
    const inMessage = { id: view(dek.id, 100), key: view(dek.key, 200) };
    const compacted = compact(inMessage.key);
    expect(compacted.buffer.byteLength).toBe(32);
    expect(Buffer.from(compacted).equals(dek.key)).toBe(true);
    // A view that is its whole buffer goes as it is.
    const own = new Uint8Array(32);
    expect(compact(own)).toBe(own);
    const pool = new OpenPool({ workers: 1, inlineBelowBytes: 0 });
    try {
      const opened = await pool.open(inMessage, view(repo.keys.master.idKey, 300), view(b.id, 400), b.sealed, b.rawLength);
      expect(opened.equals(plain)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('opens a tiny blob inline, but one that is tiny sealed and large plain (zero pages) in a worker', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const zeros = Buffer.alloc(1 << 20);
    const tiny = Buffer.from('a few bytes');
    const [z, t] = [zeros, tiny].map((p) => sealChunk(dek, 'data', keyedId(idKey, p), p));
    expect(z!.sealed.length).toBeLessThan(DEFAULT_OPEN_INLINE_BELOW);
    const pool = new OpenPool({ workers: 1 });
    try {
      const inline = pool.open(dek, idKey, t!.id, t!.sealed, t!.rawLength);
      expect(pool.pending).toBe(0);
      const worker = pool.open(dek, idKey, z!.id, z!.sealed, z!.rawLength);
      expect(pool.pending).toBe(1);
      expect((await inline).equals(tiny)).toBe(true);
      expect((await worker).equals(zeros)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('verifyMoving moves a buffer that owns its memory to the worker and back, copies any other, and still refuses a corrupt one', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const plain = randomBytes(300_000);
    const b = sealChunk(dek, 'data', keyedId(idKey, plain), plain);
    const pool = new OpenPool({ workers: 1, inlineBelowBytes: 0 });
    try {
      const owned = Buffer.from(b.sealed);
      expect(owned.byteLength).toBe(owned.buffer.byteLength);
      const back = await pool.verifyMoving(dek, idKey, b.id, owned, b.rawLength);
      expect(owned.length).toBe(0);
      expect(back.equals(b.sealed)).toBe(true);
      // A view into a larger buffer is copied: the caller's bytes stay.
      const big = Buffer.concat([Buffer.alloc(16), b.sealed]);
      const view = big.subarray(16);
      const copied = await pool.verifyMoving(dek, idKey, b.id, view, b.rawLength);
      expect(view.equals(b.sealed)).toBe(true);
      expect(copied.equals(b.sealed)).toBe(true);
      const flipped = Buffer.from(b.sealed);
      flipped[flipped.length >> 1] ^= 0x01;
      await expect(pool.verifyMoving(dek, idKey, b.id, flipped, b.rawLength, 'pack-1')).rejects.toBeInstanceOf(BlobCorruptError);
      expect((await pool.verifyMoving(dek, idKey, b.id, back, b.rawLength)).equals(b.sealed)).toBe(true);
      expect(pool.pending).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('rejects a flipped byte, a wrong key and a wrong id with BlobCorruptError naming blob and pack, and keeps serving', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const other = await repo.keys.newDek();
    const plain = randomBytes(100_000);
    const b = sealChunk(dek, 'data', keyedId(idKey, plain), plain);
    const flipped = Buffer.from(b.sealed);
    flipped[flipped.length >> 1] ^= 0x01;
    const pool = new OpenPool({ workers: 1, inlineBelowBytes: 0 });
    try {
      const bad = pool.verify(dek, idKey, b.id, flipped, b.rawLength, 'pack-1');
      await expect(bad).rejects.toBeInstanceOf(BlobCorruptError);
      await expect(pool.verify(dek, idKey, b.id, flipped, b.rawLength, 'pack-1')).rejects.toThrow(`blob ${b.id.toString('hex')} in pack pack-1 is corrupt`);
      await expect(pool.open({ id: dek.id, key: other.key }, idKey, b.id, b.sealed, b.rawLength)).rejects.toMatchObject({ code: 'CORRUPT' });
      // Sealed under another id: the AEAD's associated data does not match.
      const wrongId = keyedId(idKey, Buffer.from('something else'));
      await expect(pool.open(dek, idKey, wrongId, b.sealed, b.rawLength)).rejects.toBeInstanceOf(BlobCorruptError);
      // A blob that decrypts but whose plaintext hashes to another id (sealed under a lying id).
      const lying = sealChunk(dek, 'data', wrongId, plain);
      await expect(pool.open(dek, idKey, wrongId, lying.sealed, lying.rawLength)).rejects.toThrow('does not hash to the blob id');
      expect((await pool.open(dek, idKey, b.id, b.sealed, b.rawLength)).equals(plain)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('checks transient jobs in one reused plaintext buffer, still refusing a blob that does not hash to its id', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const plains = [Buffer.alloc(900_000, 'pbk '), Buffer.alloc(700_000, 'wal '), randomBytes(300_000)];
    const blobs = plains.map((p) => sealChunk(dek, 'data', keyedId(idKey, p), p));
    const opened = blobs.map((b, i) => {
      const r = runOpenJob({ dek, idKey, id: b.id, sealed: b.sealed, rawLength: b.rawLength, packId: undefined, transient: true });
      expect(r.plaintext.equals(plains[i]!)).toBe(true);
      return r.plaintext;
    });
    // The compressed ones were decoded into the same memory (the random one is stored, a view of its own decryption).
    expect(opened[1]!.buffer).toBe(opened[0]!.buffer);
    expect(opened[1]!.buffer).not.toBe(opened[2]!.buffer);
    // Without `transient` each plaintext is the caller's to keep.
    const kept = runOpenJob({ dek, idKey, id: blobs[0]!.id, sealed: blobs[0]!.sealed, rawLength: blobs[0]!.rawLength, packId: undefined });
    expect(kept.plaintext.buffer).not.toBe(opened[0]!.buffer);
    // A blob sealed under another chunk's id decrypts (right AAD) but its plaintext, decoded into the scratch, hashes elsewhere.
    const lying = sealChunk(dek, 'data', blobs[0]!.id, plains[1]!);
    expect(() => runOpenJob({ dek, idKey, id: lying.id, sealed: lying.sealed, rawLength: lying.rawLength, packId: 'pack-9', transient: true })).toThrow(BlobCorruptError);
    // And through the pool's workers (verify: transient), a good blob after the bad one still passes.
    const pool = new OpenPool({ workers: 1, inlineBelowBytes: 0 });
    try {
      await expect(pool.verify(dek, idKey, lying.id, lying.sealed, lying.rawLength, 'pack-9')).rejects.toThrow('does not hash to the blob id');
      for (const b of blobs) await pool.verify(dek, idKey, b.id, b.sealed, b.rawLength);
      expect((await pool.open(dek, idKey, blobs[1]!.id, blobs[1]!.sealed, blobs[1]!.rawLength)).equals(plains[1]!)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('fails queued jobs with CancelledError on close', async () => {
    const { repo } = fx.t;
    const idKey = repo.keys.master.idKey;
    const dek = await repo.keys.newDek();
    const plain = randomBytes(2_000_000);
    const b = sealChunk(dek, 'data', keyedId(idKey, plain), plain);
    const pool = new OpenPool({ workers: 1 });
    const jobs = Array.from({ length: 20 }, () => pool.open(dek, idKey, b.id, b.sealed, b.rawLength));
    const outcomes = Promise.allSettled(jobs);
    await pool.close();
    const settled = await outcomes;
    expect(settled.some((s) => s.status === 'rejected' && s.reason instanceof CancelledError)).toBe(true);
    await expect(pool.open(dek, idKey, b.id, b.sealed, b.rawLength)).rejects.toBeInstanceOf(CancelledError);
  });
});
