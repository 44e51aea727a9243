// Downloads of delta blobs (docs/repository-format.md, "Delta blobs"): the
// coordinator sends a delta right after its base (base_only). Real sealed
// blobs (makeBlob, sealDeltaChunk) framed by the real BlobMessageBatcher,
// in the orders a coordinator may send them, correct and not.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobMessageBatcher, type v1, type WireBlob } from '@pbk/protocol';
import { makeBlob, OpenPool, sealChunk, sealDeltaChunk } from '@pbk/storage';
import { systemClock } from '../src/clock.js';
import { codeOf } from '../src/errors.js';
import { fetchWal, WalCorruptError } from '../src/postgres/wal/fetch.js';
import { BatchingBlobReader, type DownloadMessage, type FetchBlobs } from '../src/wire/blob-reader.js';

const idKey = randomBytes(32);
const dekA = { id: randomBytes(16), key: randomBytes(32) };
const dekB = { id: randomBytes(16), key: randomBytes(32) };
const KEYS: v1.DataKey__Output[] = [dekA, dekB].map((d) => ({ id: d.id, key: d.key }) as v1.DataKey__Output);

/** A 256 KiB chunk that looks like a heap: pages of text whose tuples then get a few bytes changed. */
function heapLike(seed: number): Buffer {
  const page = Buffer.alloc(8192);
  const out: Buffer[] = [];
  for (let p = 0; p < 32; p++) {
    page.fill(0);
    for (let at = 24; at + 64 < page.length; at += 64) page.write(createHash('md5').update(`${seed}:${p}:${at}`).digest('hex'), at, 'latin1');
    out.push(Buffer.from(page));
  }
  return Buffer.concat(out);
}

/** A base and its next version (1 byte changed every 1000), the new one sealed whole and as a delta against the base. */
function pair(baseDek = dekA, deltaDek = dekB) {
  const basePlain = heapLike(1);
  const plain = Buffer.from(basePlain);
  for (let i = 500; i < plain.length; i += 1000) plain[i] = plain[i]! ^ 0x5a;
  const base = makeBlob(baseDek, idKey, 'data', basePlain);
  const full = makeBlob(deltaDek, idKey, 'data', plain);
  const delta = sealDeltaChunk(deltaDek, full.id, plain, base.id, basePlain, full.sealed.length);
  if (!delta) throw new Error('test data: the delta does not pay');
  const asWire = (b: { id: Buffer; dekId: Buffer; rawLength: number; sealed: Buffer }, extra: Partial<WireBlob> = {}): WireBlob => ({
    id: b.id,
    type: 'BLOB_TYPE_DATA',
    dekId: b.dekId,
    rawLength: b.rawLength,
    sealed: b.sealed,
    ...extra,
  });
  return {
    basePlain,
    plain,
    base: asWire(base, { baseOnly: true }),
    baseAsked: asWire(base),
    delta: asWire(delta, { deltaBase: base.id }),
    other: asWire(makeBlob(dekA, idKey, 'data', Buffer.from('another blob'))),
    otherPlain: Buffer.from('another blob'),
  };
}

/** DownloadBlobs that sends `script` as it is (whatever was asked), in small messages so blobs span parts. */
function scripted(script: WireBlob[], calls: Buffer[][] = []): FetchBlobs {
  return async function* (ids): AsyncGenerator<DownloadMessage> {
    calls.push(ids);
    const batcher = new BlobMessageBatcher(16 * 1024);
    let keys: v1.DataKey__Output[] = KEYS;
    const out = (parts: v1.BlobPart[]): DownloadMessage => {
      const msg = { parts: parts as v1.BlobPart__Output[], keys };
      keys = [];
      return msg;
    };
    // What the real decoder gives: every field present, empty when unset.
    const decoded = (parts: v1.BlobPart[]): v1.BlobPart[] => parts.map((p) => ({ deltaBase: Buffer.alloc(0), baseOnly: false, ...p }));
    for (const b of script) for (const parts of batcher.push(b)) yield out(decoded(parts));
    const last = batcher.flush();
    if (last) yield out(decoded(last));
  };
}

const pool = new OpenPool({ workers: 1, inlineBelowBytes: 0 });
afterAll(() => pool.close());

describe('BatchingBlobReader with delta blobs', () => {
  for (const how of ['on this thread', 'in an OpenPool'] as const) {
    it(`opens a delta with the base sent just before it, and does not hand out the base (${how})`, async () => {
      const p = pair();
      const reader = new BatchingBlobReader(scripted([p.other, p.base, p.delta]), { idKey: () => idKey, clock: systemClock, ...(how === 'in an OpenPool' ? { pool } : {}) });
      const [other, got] = reader.readBatch([{ id: p.other.id }, { id: p.delta.id, where: 'file base/5/16384' }]);
      expect((await got!).equals(p.plain)).toBe(true);
      expect((await other!).equals(p.otherPlain)).toBe(true);
      // Delivered: the two asked for, not the base.
      expect(reader.stats).toMatchObject({ blobs: 2, bytes: p.plain.length + p.otherPlain.length });
    });
  }

  it('hands out the base too when it was also asked for itself', async () => {
    const p = pair();
    const reader = new BatchingBlobReader(scripted([p.base, p.delta]), { idKey: () => idKey, clock: systemClock, pool });
    const [base, delta] = reader.readBatch([{ id: p.base.id }, { id: p.delta.id }]);
    expect((await base!).equals(p.basePlain)).toBe(true);
    expect((await delta!).equals(p.plain)).toBe(true);
  });

  it('a delta without its base just before it fails the batch as a corrupt stream (after what was delivered)', async () => {
    const p = pair();
    const reader = new BatchingBlobReader(scripted([p.other, p.delta]), { idKey: () => idKey, clock: systemClock });
    const [other, delta] = reader.readBatch([{ id: p.other.id }, { id: p.delta.id }]);
    expect((await other!).equals(p.otherPlain)).toBe(true);
    const err = await delta!.catch((e: unknown) => e);
    expect(codeOf(err)).toBe('CORRUPT');
    expect((err as Error).message).toContain(`delta blob ${p.delta.id.toString('hex')} arrived without its base blob ${p.base.id.toString('hex')} just before it`);
  });

  it('a base followed by another blob than its delta, or ending the stream, is a corrupt stream', async () => {
    const p = pair();
    for (const script of [
      [p.base, p.other, p.delta],
      [p.other, p.base],
    ]) {
      const reader = new BatchingBlobReader(scripted(script), { idKey: () => idKey, clock: systemClock });
      const errs = await Promise.all(reader.readBatch([{ id: p.delta.id }, { id: p.other.id }]).map((b) => b.then(() => undefined, (e: unknown) => e)));
      const failed = errs.filter((e) => e !== undefined);
      expect(failed.length).toBeGreaterThan(0);
      for (const e of failed) {
        expect(codeOf(e)).toBe('CORRUPT');
        expect((e as Error).message).toMatch(new RegExp(`base blob ${p.base.id.toString('hex')} \\(base_only\\) (was followed by blob ${p.other.id.toString('hex')}|ended the stream)`));
      }
    }
  });

  it('a delta whose base does not open is CORRUPT naming its base, never garbage', async () => {
    const p = pair();
    const damaged = Buffer.from(p.base.sealed);
    damaged[100] = damaged[100]! ^ 1;
    for (const opts of [{}, { pool }]) {
      const reader = new BatchingBlobReader(scripted([{ ...p.base, sealed: Buffer.from(damaged) }, p.delta]), { idKey: () => idKey, clock: systemClock, ...opts });
      const err = await reader.readBlob(p.delta.id, 'file base/5/16384').catch((e: unknown) => e);
      expect(codeOf(err)).toBe('CORRUPT');
      expect((err as Error).message).toContain('its delta base');
      expect((err as Error).message).toContain(p.base.id.toString('hex'));
      expect((err as Error).message).toContain('(file base/5/16384)');
    }
  });

  it('a delta sent after another base than its own fails its check, never garbage', async () => {
    const p = pair();
    // A base of other content, and the delta relabelled to name it: the pairing passes, the bytes must not.
    const wrongBase = makeBlob(dekA, idKey, 'data', heapLike(2));
    const script: WireBlob[] = [{ ...p.base, id: wrongBase.id, sealed: wrongBase.sealed }, { ...p.delta, deltaBase: wrongBase.id }];
    const reader = new BatchingBlobReader(scripted(script), { idKey: () => idKey, clock: systemClock, pool });
    const err = await reader.readBlob(p.delta.id).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('CORRUPT');
    expect((err as Error).message).toContain(p.delta.id.toString('hex'));
  });

  it('a base that decrypts under its id but holds other bytes fails the delta, naming both (the base is not hashed on its own)', async () => {
    const p = pair();
    // Sealed under the base's id (so AES-GCM passes) with other content: only the delta's id check can catch it.
    const forged = sealChunk(dekA, 'data', p.base.id, heapLike(2));
    for (const opts of [{}, { pool }]) {
      const reader = new BatchingBlobReader(scripted([{ ...p.base, sealed: forged.sealed }, p.delta]), { idKey: () => idKey, clock: systemClock, ...opts });
      const err = await reader.readBlob(p.delta.id).catch((e: unknown) => e);
      expect(codeOf(err)).toBe('CORRUPT');
      expect((err as Error).message).toContain(`blob ${p.delta.id.toString('hex')}`);
      expect((err as Error).message).toContain(`decoded against its delta base ${p.base.id.toString('hex')}`);
    }
  });

  it('names a missing DEK of the base', async () => {
    const dekC = { id: randomBytes(16), key: randomBytes(32) };
    const p = pair(dekC, dekB);
    const reader = new BatchingBlobReader(scripted([p.base, p.delta]), { idKey: () => idKey, clock: systemClock });
    const err = await reader.readBlob(p.delta.id).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('INTEGRITY');
    expect((err as Error).message).toContain(`its delta base ${p.base.id.toString('hex')} arrived without its DEK ${dekC.id.toString('hex')}`);
  });
});

describe('fetchWal and delta blobs', () => {
  const p = pair();
  const file = { fileName: '000000010000000000000003', size: String(p.plain.length), sha256: createHash('sha256').update(p.plain).digest() } as unknown as v1.WalFile__Output;
  const fetchScripted = (script: WireBlob[], opts: Parameters<typeof fetchWal>[4] = {}) => {
    const messages = async function* (): AsyncGenerator<v1.GetWalResponse__Output> {
      let first = true;
      for await (const m of scripted(script)([], new AbortController().signal)) {
        yield { file: first ? file : null, blobs: { parts: m.parts, keys: m.keys, idKey } } as unknown as v1.GetWalResponse__Output;
        first = false;
      }
    };
    const rpc = { getWal: () => Object.assign(messages(), { cancel: () => undefined }) } as unknown as Parameters<typeof fetchWal>[0];
    return fetchWal(rpc, { host: 'h', kind: 'SOURCE_KIND_POSTGRES', name: 'main' }, file.fileName, undefined, opts);
  };

  it('opens a WAL blob sent as a delta with the base just before it (the base is not part of the file)', async () => {
    const got = await fetchScripted([p.base, p.delta]);
    expect(got.data.equals(p.plain)).toBe(true);
    // The same on the open workers (the local API's way).
    expect((await fetchScripted([p.base, p.delta], { pool })).data.equals(p.plain)).toBe(true);
  });

  it('on the open workers too, a blob that does not open stops recovery naming the file and the blob', async () => {
    const damaged = Buffer.from(p.delta.sealed);
    damaged[200] = damaged[200]! ^ 1;
    const err = await fetchScripted([p.base, { ...p.delta, sealed: damaged }], { pool }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as Error).message).toContain(`WAL file ${file.fileName} is damaged: blob ${p.delta.id.toString('hex')}`);
    expect((err as Error).message).toContain('recovery must stop here');
  });

  it('stops recovery with a clear error for a delta without its base, or a base without its delta, never garbled WAL', async () => {
    for (const [script, message] of [
      [[p.delta], /delta blob \S+ arrived without its base blob \S+ just before it/],
      [[p.base, p.other], /base blob \S+ \(base_only\) was followed by blob/],
      [[p.base], /base blob \S+ \(base_only\) ended the stream without the delta/],
    ] as const) {
      const err = await fetchScripted([...script]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WalCorruptError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(`WAL file ${file.fileName}`);
      expect((err as Error).message).toContain('recovery must stop here');
    }
  });
});
