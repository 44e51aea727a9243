import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupDirectory, OpenPool } from '../src/archiver/index.js';
import { makeBlob, openChunk, sealDeltaChunk } from '../src/blob/index.js';
import { BlobCorruptError } from '../src/errors.js';
import { collectGarbage } from '../src/gc/index.js';
import { decodeIndexFile, encodeIndexFile } from '../src/index/index.js';
import { decodeEntries, encodeEntries, PackFormatError, packName, type PackEntry } from '../src/pack/index.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { verifyRepository } from '../src/verify/index.js';
import { edited, pageLike, storeAsDeltas, useRepoFixture } from './helpers.js';

const source = { host: 'h', kind: 'files' as const, name: 'd' };

describe('delta blobs', () => {
  const fx = useRepoFixture({ packTargetBytes: 128 * 1024 });

  it('pack and index entries carry the base id; readers reject malformed delta entries', () => {
    const plain: PackEntry = { type: 'data', id: randomBytes(32), dekId: randomBytes(16), offset: 8, length: 100, rawLength: 200 };
    const delta: PackEntry = { ...plain, id: randomBytes(32), offset: 108, length: 50, deltaBase: plain.id };
    const bytes = encodeEntries([plain, delta]);
    expect(bytes.length).toBe(4 + 64 + 96);
    const back = decodeEntries(bytes);
    expect(back[0]!.deltaBase).toBeUndefined();
    expect(back[1]!.deltaBase).toEqual(plain.id);
    const file = decodeIndexFile(encodeIndexFile({ supersedes: [], packs: [{ packId: 'ab'.repeat(32), entries: [plain, delta] }, { packId: 'cd'.repeat(32), entries: [plain] }] }));
    expect(file.packs[0]!.entries[1]!.deltaBase).toEqual(plain.id);
    expect(file.packs[1]!.entries).toHaveLength(1);
    // A delta flag on a tree, an unknown flag, a delta entry cut short: refused.
    const tree = Buffer.from(bytes);
    tree.writeUInt8(1, 4 + 64);
    expect(() => decodeEntries(tree)).toThrow(PackFormatError);
    const flags = Buffer.from(bytes);
    flags.writeUInt8(0x80, 4 + 1);
    expect(() => decodeEntries(flags)).toThrow(/unknown entry flags/);
    expect(() => decodeEntries(bytes.subarray(0, bytes.length - 10))).toThrow(PackFormatError);
  });

  it('a changed chunk stored against its previous version is a fraction of its size and opens to the same bytes', async () => {
    const repo = fx.t.repo;
    const dek = await repo.keys.newDek();
    const idKey = repo.keys.master.idKey;
    const v1 = pageLike(1 << 20);
    const v2 = edited(v1);
    const base = makeBlob(dek, idKey, 'data', v1);
    const full = makeBlob(dek, idKey, 'data', v2);
    const delta = sealDeltaChunk(dek, full.id, v2, base.id, v1, full.sealed.length)!;
    expect(delta).toBeDefined();
    expect(delta.sealed.length).toBeLessThan(full.sealed.length / 10);
    expect(openChunk(dek, idKey, full.id, delta.sealed, v2.length, undefined, v1).equals(v2)).toBe(true);
    // Without its base, or with another base, a delta never opens to wrong bytes.
    expect(() => openChunk(dek, idKey, full.id, delta.sealed, v2.length)).toThrow(/no base/);
    expect(() => openChunk(dek, idKey, full.id, delta.sealed, v2.length, undefined, pageLike(1 << 20))).toThrow(BlobCorruptError);
    // Not worth it: unrelated data, or the blob itself as its base.
    expect(sealDeltaChunk(dek, full.id, v2, base.id, randomBytes(1 << 20), full.sealed.length)).toBeUndefined();
    expect(sealDeltaChunk(dek, full.id, v2, full.id, v2, full.sealed.length)).toBeUndefined();

    await repo.addBlob(base);
    await repo.flush();
    // A GC running while the delta is written must treat its base as reused (kept with its pack).
    repo.trackReuse();
    await repo.addBlob(delta);
    await repo.flush();
    expect(repo.reusedSinceTracking()).toEqual(new Set([base.id.toString('hex')]));
    const again = await fx.t.reopen();
    expect(again.index.get(full.id)!.deltaBase).toEqual(base.id);
    expect((await again.readBlob(full.id)).equals(v2)).toBe(true);
    const report = await verifyRepository(again, { readDataPercent: 100 });
    expect(report.problems).toEqual([]);
  });

  it('the open pool opens deltas with their base, makes deltas on receipt, and names a corrupt base', async () => {
    const repo = fx.t.repo;
    const dek = await repo.keys.newDek();
    const idKey = repo.keys.master.idKey;
    const v1 = pageLike(1 << 20);
    const v2 = edited(v1);
    const base = makeBlob(dek, idKey, 'data', v1);
    const full = makeBlob(dek, idKey, 'data', v2);
    const pool = new OpenPool({ workers: 1 });
    try {
      const baseRef = { id: base.id, dek, sealed: base.sealed, rawLength: v1.length };
      const checked = await pool.checkForDelta(dek, idKey, full.id, Buffer.from(full.sealed), v2.length, baseRef);
      expect(checked.sealed.equals(full.sealed)).toBe(true);
      expect(checked.delta!.length).toBeLessThan(full.sealed.length / 10);
      expect((await pool.open(dek, idKey, full.id, checked.delta!, v2.length, undefined, baseRef)).equals(v2)).toBe(true);
      // A candidate base that does not open costs only the delta.
      const badBase = Buffer.from(base.sealed);
      badBase[40] ^= 0xff;
      const skipped = await pool.checkForDelta(dek, idKey, full.id, Buffer.from(full.sealed), v2.length, { ...baseRef, sealed: badBase });
      expect(skipped.delta).toBeUndefined();
      expect(skipped.baseProblem).toMatch(/corrupt/);
      // Opening a delta with a corrupt base names both.
      await expect(pool.open(dek, idKey, full.id, checked.delta!, v2.length, 'p1', { ...baseRef, sealed: badBase })).rejects.toThrow(
        new RegExp(`blob ${full.id.toString('hex')} in pack p1 is corrupt: its delta base blob ${base.id.toString('hex')}`),
      );
      // A corrupt upload is refused whatever its base.
      const bad = Buffer.from(full.sealed);
      bad[50] ^= 0xff;
      await expect(pool.checkForDelta(dek, idKey, full.id, bad, v2.length, baseRef)).rejects.toThrow(BlobCorruptError);
    } finally {
      await pool.close();
    }
  });

  it('a snapshot of delta blobs restores; GC keeps their bases when the older snapshot goes; a lost base is reported', async () => {
    const repo = fx.t.repo;
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    const v1 = pageLike(600 * 1024);
    await writeFile(join(data, 'table'), v1);
    await writeFile(join(data, 'dropped'), randomBytes(400 * 1024));
    const first = await backupDirectory(repo, data, { source });
    const v2 = edited(v1);
    expect(await storeAsDeltas(repo, v1, v2)).toBeGreaterThan(3);
    await writeFile(join(data, 'table'), v2);
    await rm(join(data, 'dropped'));
    const second = await backupDirectory(repo, data, { source });
    const deltas = [...repo.index.entries()].filter(([, e]) => e.deltaBase).length;
    expect(deltas).toBeGreaterThan(3);

    // The older snapshot goes; after the grace period GC deletes what only it used, but keeps the bases the deltas need.
    await repo.deleteObject('snapshot', first.id);
    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    const gc = await collectGarbage(later);
    expect(gc.packs.deleted + gc.packs.repacked).toBeGreaterThan(0);
    const after = await fx.t.reopen();
    expect((await verifyRepository(after, { readDataPercent: 100 })).problems).toEqual([]);
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(after, second, out);
    expect((await readFile(join(out, 'table'))).equals(v2)).toBe(true);

    // A base lost behind the repository's back: verify names it, restore fails naming the delta's file.
    const [, entry] = [...after.index.entries()].find(([, e]) => e.deltaBase)!;
    const baseEntry = after.index.get(entry.deltaBase!)!;
    const pack = await fx.t.backend.get(packName(baseEntry.packId));
    pack[baseEntry.offset + 20] ^= 0xff;
    await fx.t.backend.delete(packName(baseEntry.packId));
    await fx.t.backend.put(packName(baseEntry.packId), pack);
    const broken = await fx.t.reopen();
    const report = await verifyRepository(broken, { readDataPercent: 100 });
    expect(report.problems.some((p) => p.kind === 'blob-corrupt' && p.detail.includes(entry.deltaBase!.toString('hex')))).toBe(true);
    await expect(restoreSnapshot(broken, second, join(fx.work.dir, 'out2'))).rejects.toThrow(/corrupt/);
  });
});
