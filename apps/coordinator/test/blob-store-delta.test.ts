/**
 * BlobStore storing uploads as delta blobs (docs/repository-format.md, "Delta
 * blobs") against a real repository in a temp dir and a real OpenPool: a
 * hinted blob that differs little from its base is stored as a small delta
 * that reads back to its plaintext; a hint that does not qualify, or a base
 * that cannot be read, stores the blob whole and never fails the upload; a
 * corrupt upload is refused whatever its hint.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyedId, type Dek } from '@pbk/crypto';
import { OpenPool, packName, sealChunk, type Logger } from '@pbk/storage';
import { makeTestRepo, type TestRepo } from '@pbk/storage/testing';
import type { WireBlob } from '@pbk/protocol';
import { BlobStore } from '../src/blob-store.js';

let t: TestRepo;
let store: BlobStore;
let dek: Dek;
const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  error() {},
  warn(fields: unknown, msg?: string) {
    warnings.push({ fields: fields as Record<string, unknown>, msg: msg ?? '' });
  },
};

beforeEach(async () => {
  t = await makeTestRepo();
  warnings.length = 0;
  store = new BlobStore(t.repo, new OpenPool({ workers: 2 }), logger);
  dek = await t.repo.keys.newDek();
});

afterEach(async () => {
  await store.close();
  await t.cleanup();
});

/** ~1 MiB of table-like text: compressible, but not trivially (random values on every line). */
function tableText(bytes = 1 << 20): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `row ${i}\tcustomer-${randomInt(1000)}\t${randomBytes(6).toString('hex')}\tstatus=${['open', 'paid', 'late'][randomInt(3)]}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** `plain` with a few bytes changed at random places. */
function edited(plain: Buffer, edits = 8): Buffer {
  const out = Buffer.from(plain);
  for (let i = 0; i < edits; i++) out[randomInt(out.length)]! ^= 0x20;
  return out;
}

function wire(plain: Buffer, type: 'data' | 'tree' = 'data', deltaBase?: Buffer): WireBlob {
  const id = keyedId(t.repo.keys.master.idKey, plain);
  const b = sealChunk(dek, type, id, plain, 3);
  return { id, type: type === 'tree' ? 'BLOB_TYPE_TREE' : 'BLOB_TYPE_DATA', dekId: dek.id, rawLength: b.rawLength, sealed: b.sealed, ...(deltaBase ? { deltaBase } : {}) };
}

async function storeWhole(plain: Buffer, type: 'data' | 'tree' = 'data'): Promise<WireBlob> {
  const b = wire(plain, type);
  expect((await store.accept(dek, { ...b, sealed: Buffer.from(b.sealed) })).outcome).toBe('stored');
  await store.makeDurable([b.id]);
  return b;
}

describe('BlobStore with delta hints', () => {
  it('stores a blob hinted at a similar one as a small delta that reads back to its plaintext', async () => {
    const plainA = tableText();
    const a = await storeWhole(plainA);
    const plainB = edited(plainA);
    const b = wire(plainB, 'data', a.id);
    const fullLength = b.sealed.length;
    const accepted = await store.accept(dek, b);
    expect(accepted.outcome).toBe('stored');
    // A few changed bytes in 1 MiB: the delta is a tiny share of the full sealed blob.
    expect(accepted.storedBytes).toBeLessThan(fullLength / 20);
    expect(accepted.deltaSavedBytes).toBe(fullLength - accepted.storedBytes);
    await store.makeDurable([b.id]);
    const entry = t.repo.index.get(b.id)!;
    expect(entry.deltaBase?.equals(a.id)).toBe(true);
    expect(entry.length).toBe(accepted.storedBytes);
    expect(entry.rawLength).toBe(plainB.length);
    expect((await t.repo.readBlob(b.id)).equals(plainB)).toBe(true);
    // Reopened from what is on disk (pack trailers, index objects), it is still a delta that reads back.
    const again = await t.reopen();
    expect(again.index.get(b.id)?.deltaBase?.equals(a.id)).toBe(true);
    expect((await again.readBlob(b.id)).equals(plainB)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('stores the blob whole when the hint is unknown, a tree, a delta blob or the blob itself', async () => {
    const plainA = tableText(256 * 1024);
    const a = await storeWhole(plainA);
    const delta = wire(edited(plainA), 'data', a.id);
    expect((await store.accept(dek, delta)).deltaSavedBytes).toBeGreaterThan(0);
    const tree = await storeWhole(Buffer.from(JSON.stringify({ entries: [{ name: 'x', pad: plainA.subarray(0, 50_000).toString('latin1') }] })), 'tree');
    await store.makeDurable([delta.id]);
    const self = edited(plainA);
    const cases: [string, WireBlob][] = [
      ['unknown', wire(edited(plainA), 'data', randomBytes(32))],
      ['tree', wire(edited(plainA), 'data', tree.id)],
      ['delta', wire(edited(plainA), 'data', delta.id)],
      ['itself', wire(self, 'data', keyedId(t.repo.keys.master.idKey, self))],
    ];
    for (const [what, blob] of cases) {
      const full = blob.sealed.length;
      const accepted = await store.accept(dek, blob);
      expect({ what, ...accepted }).toEqual({ what, outcome: 'stored', storedBytes: full, deltaSavedBytes: 0 });
      await store.makeDurable([blob.id]);
      expect(t.repo.index.get(blob.id)?.deltaBase, what).toBeUndefined();
    }
    // A tree blob is never stored as a delta, whatever it names.
    const treeB = wire(Buffer.from(JSON.stringify({ entries: [{ name: 'y', pad: plainA.subarray(0, 50_000).toString('latin1') }] })), 'tree', tree.id);
    expect((await store.accept(dek, treeB)).deltaSavedBytes).toBe(0);
    await store.makeDurable([treeB.id]);
    expect(t.repo.index.get(treeB.id)?.deltaBase).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('refuses a corrupt upload with CORRUPT whatever its hint, and stores nothing of it', async () => {
    const plainA = tableText(256 * 1024);
    const a = await storeWhole(plainA);
    const b = wire(edited(plainA), 'data', a.id);
    b.sealed[b.sealed.length - 5]! ^= 0xff;
    await expect(store.accept(dek, b)).rejects.toMatchObject({ code: 'CORRUPT' });
    // Sealed right but under another id: opens fine, hashes to something else.
    const liar = { ...wire(edited(plainA), 'data', a.id), id: randomBytes(32) };
    await expect(store.accept(dek, liar)).rejects.toMatchObject({ code: 'CORRUPT' });
    await store.flush();
    expect(store.state(b.id)).toBe('absent');
    expect(store.state(liar.id)).toBe('absent');
    expect(t.repo.index.blobCount).toBe(1);
  });

  it('stores blobs whole when their base cannot be read or does not open, and says so once per base', async () => {
    const plainA = tableText(256 * 1024);
    const a = await storeWhole(plainA);
    const entry = t.repo.index.get(a.id)!;
    // The base's bytes damaged in its pack: it no longer opens.
    const pack = await t.backend.get(packName(entry.packId));
    pack[entry.offset + 100]! ^= 0xff;
    await t.backend.delete(packName(entry.packId));
    await t.backend.put(packName(entry.packId), pack);
    const first = wire(edited(plainA), 'data', a.id);
    const second = wire(edited(plainA), 'data', a.id);
    for (const b of [first, second]) {
      const full = b.sealed.length;
      expect(await store.accept(dek, b)).toEqual({ outcome: 'stored', storedBytes: full, deltaSavedBytes: 0 });
    }
    await store.makeDurable([first.id, second.id]);
    expect(t.repo.index.get(first.id)?.deltaBase).toBeUndefined();
    expect(warnings.map((w) => w.fields.base)).toEqual([a.id.toString('hex')]);
    expect(warnings[0]!.fields.code).toBe('CORRUPT');

    // The base's pack gone altogether: still stored whole, logged once for that base.
    const plainC = tableText(256 * 1024);
    const c = await storeWhole(plainC);
    await t.backend.delete(packName(t.repo.index.get(c.id)!.packId));
    const third = wire(edited(plainC), 'data', c.id);
    expect((await store.accept(dek, third)).outcome).toBe('stored');
    await store.makeDurable([third.id]);
    expect(t.repo.index.get(third.id)?.deltaBase).toBeUndefined();
    expect(warnings.map((w) => w.fields.base)).toEqual([a.id.toString('hex'), c.id.toString('hex')]);
    expect(String(warnings[1]!.fields.detail)).toContain(c.id.toString('hex'));
  });
});
