import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobMessageBatcher, type v1 } from '@pbk/protocol';
import { makeBlob } from '@pbk/storage';
import { systemClock } from '../src/clock.js';
import { BatchingBlobReader, demandOrder, ReadAheadReader, type DownloadMessage, type FetchBlobs } from '../src/wire/blob-reader.js';

const idKey = randomBytes(32);
const dekA = { id: randomBytes(16), key: randomBytes(32) };
const dekB = { id: randomBytes(16), key: randomBytes(32) };

/** An in-memory DownloadBlobs: sealed blobs in a map, sent in ~messageBytes messages with each DEK once per stream. */
function memoryStore(messageBytes = 8192) {
  const blobs = new Map<string, { id: Buffer; type: 'BLOB_TYPE_DATA'; dekId: Buffer; rawLength: number; sealed: Buffer }>();
  const deks = new Map([dekA, dekB].map((d) => [d.id.toString('hex'), d]));
  const calls: Buffer[][] = [];
  const put = (plain: Buffer, dek = dekA): Buffer => {
    const b = makeBlob(dek, idKey, 'data', plain);
    blobs.set(b.id.toString('hex'), { id: b.id, type: 'BLOB_TYPE_DATA', dekId: b.dekId, rawLength: b.rawLength, sealed: b.sealed });
    return b.id;
  };
  let tamper: ((sealed: Buffer) => Buffer) | undefined;
  let failAfter: number | undefined;
  const fetch: FetchBlobs = async function* (ids) {
    calls.push(ids);
    const batcher = new BlobMessageBatcher(messageBytes);
    const sentKeys = new Set<string>();
    let pendingKeys: v1.DataKey__Output[] = [];
    let sent = 0;
    const out = (parts: v1.BlobPart[]): DownloadMessage => {
      const msg = { parts: parts as v1.BlobPart__Output[], keys: pendingKeys };
      pendingKeys = [];
      return msg;
    };
    for (const id of ids) {
      const b = blobs.get(id.toString('hex'));
      if (!b) continue;
      const dhex = b.dekId.toString('hex');
      if (!sentKeys.has(dhex)) {
        sentKeys.add(dhex);
        pendingKeys.push({ id: b.dekId, key: deks.get(dhex)!.key });
      }
      for (const parts of batcher.push({ ...b, sealed: tamper ? tamper(b.sealed) : b.sealed })) {
        if (failAfter !== undefined && sent++ >= failAfter) throw Object.assign(new Error('14 UNAVAILABLE: gone'), { code: 'UNAVAILABLE' });
        yield out(parts);
      }
    }
    const last = batcher.flush();
    if (last) yield out(last);
  };
  return { put, fetch, calls, setTamper: (t: typeof tamper) => (tamper = t), failAfterMessages: (n: number) => (failAfter = n) };
}

describe('BatchingBlobReader', () => {
  it('collects concurrent reads into one DownloadBlobs call, fetches a repeated id once, opens each blob with its DEK', async () => {
    const store = memoryStore();
    const plains = [randomBytes(100), randomBytes(20_000), randomBytes(5000), Buffer.from('tree json')];
    const ids = plains.map((p, i) => store.put(p, i % 2 ? dekB : dekA));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock, windowMs: 5 });
    const got = await Promise.all([...ids.map((id) => reader.readBlob(id)), reader.readBlob(ids[1]!)]);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]).toHaveLength(4);
    got.slice(0, 4).forEach((g, i) => expect(g.equals(plains[i]!)).toBe(true));
    expect(got[4]!.equals(plains[1]!)).toBe(true);
    expect(reader.stats).toMatchObject({ batches: 1, blobs: 4 });
  });

  it('splits at maxIds and runs the batches', async () => {
    const store = memoryStore();
    const ids = Array.from({ length: 10 }, (_, i) => store.put(Buffer.from(`blob ${i}`)));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock, maxIds: 4 });
    const got = await Promise.all(ids.map((id) => reader.readBlob(id)));
    expect(got.map((g) => g.toString())).toEqual(ids.map((_, i) => `blob ${i}`));
    expect(store.calls.map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it('fails an id the stream never sends with NOT_FOUND, naming where it was referenced', async () => {
    const store = memoryStore();
    const present = store.put(Buffer.from('here'));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const [ok, missing] = await Promise.allSettled([reader.readBlob(present), reader.readBlob(randomBytes(32), 'file /etc/x')]);
    expect(ok.status).toBe('fulfilled');
    expect(missing.status === 'rejected' && missing.reason).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('/etc/x') });
  });

  it('refuses a blob that does not open or match its id (CORRUPT), never returning its bytes', async () => {
    const store = memoryStore();
    const id = store.put(Buffer.from('important config'));
    store.setTamper((sealed) => {
      const copy = Buffer.from(sealed);
      copy[copy.length - 1]! ^= 1;
      return copy;
    });
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    await expect(reader.readBlob(id, 'file /etc/app.conf')).rejects.toMatchObject({ code: 'CORRUPT' });
    // The right bytes under a different id key: the keyed-id check catches it.
    store.setTamper(undefined);
    const wrongKey = new BatchingBlobReader(store.fetch, { idKey: () => randomBytes(32), clock: systemClock });
    await expect(wrongKey.readBlob(id)).rejects.toThrow(/does not hash to the blob id/);
  });

  it('says clearly when the id-key is not known yet', async () => {
    const store = memoryStore();
    const id = store.put(Buffer.from('x'));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => undefined, clock: systemClock });
    await expect(reader.readBlob(id)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('fails every unresolved read of a batch when the stream breaks, keeps the ones already delivered', async () => {
    const store = memoryStore(4096);
    const ids = Array.from({ length: 6 }, () => store.put(randomBytes(3000)));
    store.failAfterMessages(2);
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const results = await Promise.allSettled(ids.map((id) => reader.readBlob(id)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(6);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('close() fails queued and in-flight reads with the reason', async () => {
    const store = memoryStore();
    const id = store.put(Buffer.from('x'));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock, windowMs: 1000 });
    const p = reader.readBlob(id);
    reader.close(Object.assign(new Error('stopping'), { code: 'CANCELLED' }));
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(reader.readBlob(id)).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('demandOrder (the read-ahead of a restore)', () => {
  it('interleaves a large file with the small files written beside it, as the writers will ask', () => {
    const file = (where: string, ids: string[], size: number) => ({ where, content: ids, size });
    const order = demandOrder([file('/a', ['a0', 'a1', 'a2'], 30), file('/b', ['b0'], 10), file('/c', ['c0'], 10), file('/d', [], 0)], 2);
    expect(order.map((o) => o.hex)).toEqual(['a0', 'b0', 'a1', 'c0', 'a2']);
    expect(order[0]).toEqual({ hex: 'a0', bytes: 10, where: 'file /a' });
    // One writer: the files' own order.
    expect(demandOrder([file('/a', ['a0', 'a1'], 20), file('/b', ['b0'], 5)], 1).map((o) => o.hex)).toEqual(['a0', 'a1', 'b0']);
  });
});

describe('ReadAheadReader', () => {
  it('fetches along the plan in large calls, hands each planned read its blob, and fetches a read that came first once', async () => {
    const store = memoryStore();
    const plains = Array.from({ length: 6 }, (_, i) => Buffer.from(`content ${i} `.repeat(50)));
    const ids = plains.map((p) => store.put(p));
    const hex = ids.map((id) => id.toString('hex'));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const ahead = new ReadAheadReader(reader, { maxBytesAhead: 1 << 20, batchBytes: 1 << 20, batchesInFlight: 1, writers: 1 });
    // Blob 5 is read before the plan is known.
    const early = ahead.readBlob(ids[5]!);
    // Blob 0 is in two files: planned twice, fetched once.
    ahead.plan([
      { where: '/a', content: [hex[0]!, hex[1]!], size: 2 * plains[0]!.length },
      { where: '/b', content: [hex[2]!, hex[0]!, hex[5]!], size: 3 * plains[0]!.length },
      { where: '/c', content: [hex[3]!, hex[4]!], size: 2 * plains[0]!.length },
    ]);
    const got = await Promise.all([ids[0], ids[1], ids[2], ids[0], ids[3], ids[4]].map((id) => ahead.readBlob(id!)));
    expect((await early).equals(plains[5]!)).toBe(true);
    expect(got.map((g) => g.toString())).toEqual([0, 1, 2, 0, 3, 4].map((i) => plains[i]!.toString()));
    // One call: the read-ahead took the early read (still queued for the window) along; every blob fetched once.
    expect(store.calls.map((c) => c.map((id) => hex.indexOf(id.toString('hex'))).sort())).toEqual([[0, 1, 2, 3, 4, 5]]);
    reader.close();
  });

  it('stays within maxBytesAhead: the next call waits until planned blobs are taken', async () => {
    const store = memoryStore();
    const plains = Array.from({ length: 4 }, (_, i) => Buffer.alloc(1000, i));
    const ids = plains.map((p) => store.put(p));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const ahead = new ReadAheadReader(reader, { maxBytesAhead: 2000, batchBytes: 1000, batchesInFlight: 4, writers: 1 });
    ahead.plan([{ where: '/f', content: ids.map((id) => id.toString('hex')), size: 4000 }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.calls.flat()).toHaveLength(2);
    expect((await ahead.readBlob(ids[0]!)).equals(plains[0]!)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.calls.flat()).toHaveLength(3);
    for (const [i, id] of ids.entries()) if (i > 0) expect((await ahead.readBlob(id)).equals(plains[i]!)).toBe(true);
    expect(store.calls.flat()).toHaveLength(4);
    reader.close();
  });
});

describe('ReadAheadReader refills in whole batches', () => {
  it('starts no call for the room of a blob or two: the next call waits until a whole batch fits', async () => {
    const store = memoryStore();
    const plains = Array.from({ length: 9 }, (_, i) => Buffer.alloc(1000, i));
    const ids = plains.map((p) => store.put(p));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const ahead = new ReadAheadReader(reader, { maxBytesAhead: 4000, batchBytes: 2000, batchesInFlight: 4, writers: 1 });
    ahead.plan([{ where: '/f', content: ids.map((id) => id.toString('hex')), size: 9000 }]);
    const settle = () => new Promise((r) => setTimeout(r, 20));
    await settle();
    expect(store.calls.map((c) => c.length)).toEqual([2, 2]);
    expect((await ahead.readBlob(ids[0]!)).equals(plains[0]!)).toBe(true);
    await settle();
    // 1000 bytes of room: a call of one blob would be started here when refilling blob by blob.
    expect(store.calls.map((c) => c.length)).toEqual([2, 2]);
    expect((await ahead.readBlob(ids[1]!)).equals(plains[1]!)).toBe(true);
    await settle();
    expect(store.calls.map((c) => c.length)).toEqual([2, 2, 2]);
    for (let i = 2; i < 9; i++) expect((await ahead.readBlob(ids[i]!)).equals(plains[i]!)).toBe(true);
    // The last call holds what is left (one blob), started once that fit.
    expect(store.calls.map((c) => c.length)).toEqual([2, 2, 2, 2, 1]);
    reader.close();
  });
});

describe('ReadAheadReader and shared blobs', () => {
  it('holds a shared blob for the reads near each other only; a far one fetches it again, and the window keeps moving', async () => {
    const store = memoryStore();
    const [s, a, b, c] = [0, 1, 2, 3].map((i) => store.put(Buffer.alloc(1000, i)));
    const reader = new BatchingBlobReader(store.fetch, { idKey: () => idKey, clock: systemClock });
    const ahead = new ReadAheadReader(reader, { maxBytesAhead: 2000, batchBytes: 1000, batchesInFlight: 4, writers: 1 });
    const f = (where: string, id: Buffer) => ({ where, content: [id.toString('hex')], size: 1000 });
    ahead.plan([f('/0', s!), f('/1', a!), f('/2', b!), f('/3', c!), f('/4', s!)]);
    for (const [i, id] of [s, a, b, c, s].entries()) expect((await ahead.readBlob(id!)).equals(Buffer.alloc(1000, i === 4 ? 0 : i)), `read ${i}`).toBe(true);
    const fetched = store.calls.flat().map((id) => id.toString('hex'));
    expect(fetched.filter((h) => h === s!.toString('hex'))).toHaveLength(2);
    expect(fetched).toHaveLength(5);
    reader.close();
  });
});
