/**
 * BlobStore against a real repository in a temp dir and a real OpenPool: the
 * receipt check runs on worker threads, and two streams sending the same blob
 * at once still store it once (DESIGN decision 11a; blob-store.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyedId } from '@pbk/crypto';
import { OpenPool, sealChunk } from '@pbk/storage';
import { makeTestRepo, type TestRepo } from '@pbk/storage/testing';
import type { WireBlob } from '@pbk/protocol';
import { BlobStore } from '../src/blob-store.js';

let t: TestRepo;
let store: BlobStore;

beforeEach(async () => {
  t = await makeTestRepo();
  // Every blob goes to the threads (none opened inline), so checks really overlap.
  store = new BlobStore(t.repo, new OpenPool({ workers: 2, inlineBelowBytes: 0 }));
});

afterEach(async () => {
  await store.close();
  await t.cleanup();
});

async function sealed(size = 200_000): Promise<{ dek: Awaited<ReturnType<TestRepo['repo']['keys']['newDek']>>; blob: WireBlob }> {
  const dek = await t.repo.keys.newDek();
  const plain = randomBytes(size);
  const id = keyedId(t.repo.keys.master.idKey, plain);
  const b = sealChunk(dek, 'data', id, plain, 3);
  return { dek, blob: { id, type: 'BLOB_TYPE_DATA', dekId: dek.id, rawLength: b.rawLength, sealed: b.sealed } };
}

describe('BlobStore', () => {
  it('stores a blob two streams send at once exactly once, and makes it durable', async () => {
    const { dek, blob } = await sealed();
    const copy: WireBlob = { ...blob, sealed: Buffer.from(blob.sealed) };
    const full = blob.sealed.length; // the check moves the bytes it is given
    const outcomes = await Promise.all([store.accept(dek, blob), store.accept(dek, copy), store.accept(dek, blob)]);
    expect(outcomes.map((a) => a.outcome).sort()).toEqual(['duplicate', 'duplicate', 'stored']);
    // Only the stored copy counts, at its full size (no delta hint).
    expect(outcomes.map((a) => a.storedBytes).sort((x, y) => x - y)).toEqual([0, 0, full]);
    await store.makeDurable([blob.id]);
    expect(store.state(blob.id)).toBe('durable');
    const entries = [...t.repo.index.packIds()].flatMap((p) => t.repo.index.packEntries(p) ?? []);
    expect(entries.filter((e) => e.id.equals(blob.id))).toHaveLength(1);
  });

  it('refuses a damaged copy with CORRUPT and still stores the good copy sent beside it', async () => {
    const { dek, blob } = await sealed();
    const damaged: WireBlob = { ...blob, sealed: Buffer.from(blob.sealed) };
    damaged.sealed[damaged.sealed.length - 5]! ^= 0xff;
    const [bad, good] = await Promise.allSettled([store.accept(dek, damaged), store.accept(dek, blob)]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'CORRUPT' } });
    expect(good).toMatchObject({ status: 'fulfilled', value: { outcome: 'stored' } });
    await store.makeDurable([blob.id]);
    expect(store.state(blob.id)).toBe('durable');
  });

  it('stores nothing of a blob that fails its check', async () => {
    const { dek, blob } = await sealed();
    const other = await sealed();
    // Sealed correctly, but under another blob's id: opens fine, hashes to something else.
    const wrong: WireBlob = { ...blob, id: other.blob.id };
    await expect(store.accept(dek, wrong)).rejects.toMatchObject({ code: 'CORRUPT' });
    expect(store.state(other.blob.id)).toBe('absent');
    await store.flush();
    expect(t.repo.index.blobCount).toBe(0);
  });

  it('checks blobs in its shared ring in place, stores them, refuses a damaged one, and takes the memory back', async () => {
    const good = await sealed();
    const bad = await sealed();
    // As UploadBlobs' assembler does: the bytes copied into memory the store lends.
    const lend = (b: WireBlob): WireBlob => {
      const m = store.allocate(b.sealed.length)!;
      b.sealed.copy(m.bytes);
      return { ...b, sealed: m.bytes, release: m.release };
    };
    const inRing = lend(good.blob);
    const damaged = lend(bad.blob);
    damaged.sealed[100]! ^= 0xff;
    expect(inRing.sealed.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(store.ringBytesInUse).toBe(good.blob.sealed.length + bad.blob.sealed.length);
    const [stored, refused] = await Promise.allSettled([store.accept(good.dek, inRing), store.accept(bad.dek, damaged)]);
    expect(stored).toMatchObject({ status: 'fulfilled', value: { outcome: 'stored' } });
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'CORRUPT' } });
    expect(store.ringBytesInUse).toBe(0);
    // The pack holds a copy: the ring's memory can be reused at once without touching the stored blob.
    store.allocate(1 << 20)!.bytes.fill(0);
    await store.makeDurable([good.blob.id]);
    const entry = t.repo.index.get(good.blob.id)!;
    expect(entry.length).toBe(good.blob.sealed.length);
    // Opens from the pack: the bytes the check saw, not what the ring holds now.
    expect((await t.repo.readBlob(good.blob.id)).length).toBe(200_000);
  });
});
