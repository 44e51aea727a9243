import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../src/backend/index.js';
import type { Backend } from '../src/backend/backend.js';
import { makeBlob } from '../src/blob/index.js';
import { Compactor, type CompactOptions } from '../src/compact/index.js';
import { collectGarbage } from '../src/gc/index.js';
import { packName } from '../src/pack/index.js';
import { Repository } from '../src/repository/index.js';
import { FaultyBackend, type FaultRule } from '../src/testing.js';
import { verifyRepository } from '../src/verify/index.js';
import { loadWalManifests, saveWalManifest, type WalManifestFile } from '../src/wal/index.js';
import { useRepoFixture } from './helpers.js';

const HOUR = 3600_000;
const later = (ms: number) => () => new Date(Date.now() + ms);

interface Written {
  ids: Buffer[];
  plain: Map<string, Buffer>;
  files: WalManifestFile[];
}

/**
 * What a WAL stream leaves: every piece flushed on its own (a pack and an
 * index object each, as a durable PutWal does), and a WAL manifest per
 * complete "file" of `perFile` pieces.
 */
async function writeWalLike(repo: Repository, pieces: number, perFile = 5, into?: Written): Promise<Written> {
  const w: Written = into ?? { ids: [], plain: new Map(), files: [] };
  const dek = await repo.keys.newDek();
  let file: Buffer[] = [];
  for (let i = 0; i < pieces; i++) {
    const plain = randomBytes(6 * 1024 + i);
    const blob = makeBlob(dek, repo.keys.master.idKey, 'data', plain);
    await repo.addBlob(blob);
    await repo.flush();
    w.ids.push(blob.id);
    w.plain.set(blob.id.toString('hex'), plain);
    file.push(blob.id);
    if (file.length === perFile) {
      const name = (0x100 + w.files.length).toString(16).toUpperCase().padStart(24, '0');
      const f: WalManifestFile = { host: 'db1', source: 'main', name, size: 0, sha256: 'a'.repeat(64), content: file.map((id) => id.toString('hex')) };
      await saveWalManifest(repo, { supersedes: [], files: [f] });
      w.files.push(f);
      file = [];
    }
  }
  return w;
}

async function packFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'data'), { recursive: true })).filter((n) => n.length > 3);
}

async function expectAllReadable(repo: Repository, w: Written): Promise<void> {
  for (const id of w.ids) expect((await repo.readBlob(id)).equals(w.plain.get(id.toString('hex'))!)).toBe(true);
}

async function expectClean(repo: Repository, warningsToo = true): Promise<void> {
  const v = await verifyRepository(repo);
  expect(v.problems).toEqual([]);
  if (warningsToo) expect(v.warnings).toEqual([]);
}

describe('compaction', () => {
  const fx = useRepoFixture({ packTargetBytes: 64 * 1024 });
  const opts: CompactOptions = { packTargetBytes: 64 * 1024, minPacks: 2 };
  const open = (backend: Backend, now: () => Date) => Repository.open(backend, fx.t.kek, { packTargetBytes: 64 * 1024, now });

  it('merges many small packs, index objects and WAL manifests into few; every blob stays readable; old packs go after the delay', async () => {
    const w = await writeWalLike(fx.t.repo, 40);
    expect(await packFiles(fx.t.dir)).toHaveLength(40);
    expect(await readdir(join(fx.t.dir, 'index'))).toHaveLength(40);
    expect(await readdir(join(fx.t.dir, 'wal'))).toHaveLength(8);

    // Within the grace period nothing moves.
    const young = await new Compactor(fx.t.repo).run(opts);
    expect(young.packs.compacted).toBe(0);
    // WAL manifests have no readers to wait for: merged at once.
    expect(young.walManifests).toMatchObject({ before: 8, written: 1, removed: 8 });

    let clock = HOUR;
    const repo = await open(new LocalBackend(fx.t.dir), () => new Date(Date.now() + clock));
    const before = new Map(w.ids.map((id) => [id.toString('hex'), repo.locate(id)]));
    const compactor = new Compactor(repo);
    const report = await compactor.run(opts);
    expect(report.packs).toMatchObject({ before: 40, small: 40, compacted: 40, deleted: 0 });
    expect(report.blobsCopied).toBe(40);
    expect(report.packs.written).toBeGreaterThanOrEqual(4);
    expect(report.packs.written).toBeLessThanOrEqual(6);
    expect(report.pendingDeletes).toBe(40);
    expect(report.walManifests).toMatchObject({ before: 1, written: 0 });
    // The running handle resolves every blob to a new pack at once...
    for (const id of w.ids) expect(before.get(id.toString('hex'))!.packId).not.toBe(repo.locate(id).packId);
    await expectAllReadable(repo, w);
    // ...and a reader that looked a blob up before still finds its bytes until the delay is over.
    const held = before.get(w.ids[0]!.toString('hex'))!;
    expect((await repo.backend.get(packName(held.packId), { offset: held.offset, length: held.length })).length).toBe(held.length);
    expect(await packFiles(fx.t.dir)).toHaveLength(40 + report.packs.written);

    clock = 2 * HOUR;
    const second = await compactor.run(opts);
    expect(second.packs.deleted).toBe(40);
    expect(await packFiles(fx.t.dir)).toHaveLength(report.packs.written);
    expect(await readdir(join(fx.t.dir, 'index'))).toHaveLength(1);
    expect(await readdir(join(fx.t.dir, 'wal'))).toHaveLength(1);

    const reopened = await fx.t.reopen();
    await expectAllReadable(reopened, w);
    await expectClean(reopened);
    const wal = await loadWalManifests(reopened);
    expect(wal.files.map((f) => f.name)).toEqual(w.files.map((f) => f.name));
    expect(wal.files.map((f) => f.content)).toEqual(w.files.map((f) => f.content));
  });

  it('leaves full packs alone and does nothing when there is too little to merge', async () => {
    await writeWalLike(fx.t.repo, 3);
    const repo = await open(new LocalBackend(fx.t.dir), later(HOUR));
    const r = await new Compactor(repo).run({ ...opts, minPacks: 8 });
    expect(r.packs.compacted).toBe(0);
    expect(r.blobsCopied).toBe(0);
    expect(await packFiles(fx.t.dir)).toHaveLength(3);
  });

  it('merges a merged pack again only once the small ones add up to its size (copies grow geometrically)', async () => {
    const repo = fx.t.repo;
    const dek = await repo.keys.newDek();
    // One 20 KB pack (three blobs in one flush), then two of ~6 KB.
    for (let i = 0; i < 3; i++) await repo.addBlob(makeBlob(dek, repo.keys.master.idKey, 'data', randomBytes(6500)));
    await repo.flush();
    const big = [...repo.index.packIds()][0]!;
    const w = await writeWalLike(repo, 2, 100);
    const later1 = await open(new LocalBackend(fx.t.dir), later(HOUR));
    const first = await new Compactor(later1).run({ ...opts, deleteDelayMs: 0 });
    expect(first.packs.compacted).toBe(2);
    expect(later1.index.hasPack(big)).toBe(true);
    await writeWalLike(later1, 2, 100, w);
    const later2 = await open(new LocalBackend(fx.t.dir), later(2 * HOUR));
    const second = await new Compactor(later2).run({ ...opts, deleteDelayMs: 0 });
    expect(second.packs.compacted).toBe(4); // two new small ones, the first run's output, and the 20 KB pack
    expect(later2.index.hasPack(big)).toBe(false);
    await expectAllReadable(later2, w);
  });

  // Every write and delete compaction makes, failed in turn (a torn pack write included): the
  // repository must stay consistent (nothing lost, verify without problems), both for the same
  // process carrying on and for a fresh one after a crash, and a later run must converge.
  const faults: [string, FaultRule[]][] = [
    ['a new pack is torn', [{ op: 'put', name: /^data\//, times: 1, afterBytes: 1000 }]],
    ['the second new pack fails', [{ op: 'put', name: /^data\//, times: 1, delayMs: 0 }, { op: 'put', name: /^data\//, times: 1 }]],
    ['index object A fails', [{ op: 'put', name: /^index\//, times: 1 }]],
    ['index object B fails', [{ op: 'put', name: /^index\//, times: 1, delayMs: 0 }, { op: 'put', name: /^index\//, times: 1 }]],
    ['deleting a superseded index object fails', [{ op: 'delete', name: /^index\//, times: 1, delayMs: 0 }, { op: 'delete', name: /^index\//, times: 1 }]],
    ['the merged WAL manifest fails', [{ op: 'put', name: /^wal\//, times: 1 }]],
    ['deleting a merged WAL manifest fails', [{ op: 'delete', name: /^wal\//, times: 3, delayMs: 0 }, { op: 'delete', name: /^wal\//, times: 1 }]],
  ];
  for (const [what, rules] of faults) {
    it(`stays consistent when ${what}`, async () => {
      const w = await writeWalLike(fx.t.repo, 24, 4);
      // Four more that look just written when the run comes: their index objects are merged, the packs kept.
      await writeWalLike(fx.t.repo, 4, 4, w);
      const future = new Date(Date.now() + HOUR);
      for (const id of w.ids.slice(-4)) await utimes(join(fx.t.dir, packName(fx.t.repo.locate(id).packId)), future, future);
      const faulty = new FaultyBackend(new LocalBackend(fx.t.dir), rules);
      let clock = HOUR;
      const repo = await open(faulty, () => new Date(Date.now() + clock));
      const compactor = new Compactor(repo);
      await expect(compactor.run({ ...opts, deleteDelayMs: 0 })).rejects.toThrow(/fault injected/);
      expect(faulty.fired()).toBeGreaterThan(0);
      // The same process carries on: every blob resolves.
      await expectAllReadable(repo, w);
      // A crash here: a fresh process finds a consistent repository.
      const fresh = await fx.t.reopen();
      await expectAllReadable(fresh, w);
      await expectClean(fresh, false);
      expect((await loadWalManifests(fresh)).files.map((f) => f.name)).toEqual(w.files.map((f) => f.name));
      // Later runs (the carrying-on one, then a restarted one) converge on a clean repository.
      faulty.clearRules();
      clock = 2 * HOUR;
      await compactor.run({ ...opts, deleteDelayMs: 0 });
      await expectAllReadable(repo, w);
      const restarted = await open(new LocalBackend(fx.t.dir), later(3 * HOUR));
      await new Compactor(restarted).run({ ...opts, deleteDelayMs: 0 });
      await expectAllReadable(restarted, w);
      await expectClean(restarted);
      // 28 small packs end as a few merged ones (a merged pack is merged again only when that doubles it).
      expect((await packFiles(fx.t.dir)).length).toBeLessThanOrEqual(5);
      expect((await loadWalManifests(restarted)).files.map((f) => f.name)).toEqual(w.files.map((f) => f.name));
    });
  }

  it('loses no blob uploaded while it runs', async () => {
    const w = await writeWalLike(fx.t.repo, 30);
    // Slow pack reads keep compaction busy while the same handle takes new uploads and flushes.
    const faulty = new FaultyBackend(new LocalBackend(fx.t.dir), [{ op: 'get', name: /^data\//, delayMs: 20 }]);
    const repo = await open(faulty, later(HOUR));
    const run = new Compactor(repo).run({ ...opts, deleteDelayMs: 0 });
    await writeWalLike(repo, 20, 5, w);
    const report = await run;
    expect(report.packs.compacted).toBe(30);
    await expectAllReadable(repo, w);
    const reopened = await fx.t.reopen({ now: later(2 * HOUR) });
    await expectAllReadable(reopened, w);
    await expectClean(reopened, false);
    // The next run merges the packs written meanwhile too.
    const next = await new Compactor(reopened).run({ ...opts, deleteDelayMs: 0 });
    expect(next.packs.compacted).toBe(20);
    await expectAllReadable(reopened, w);
    expect((await loadWalManifests(reopened)).files).toHaveLength(w.files.length);
  });
});

describe('garbage collection with WAL manifests', () => {
  const fx = useRepoFixture({ packTargetBytes: 64 * 1024 });

  it('keeps blobs a WAL manifest names, sweeps ones nothing names', async () => {
    const w = await writeWalLike(fx.t.repo, 10, 5);
    const dek = await fx.t.repo.keys.newDek();
    const stray = makeBlob(dek, fx.t.repo.keys.master.idKey, 'data', randomBytes(5000));
    await fx.t.repo.addBlob(stray);
    await fx.t.repo.flush();
    const repo = await fx.t.reopen({ now: later(48 * HOUR) });
    const report = await collectGarbage(repo);
    expect(report.walFiles).toBe(2);
    expect(report.packs.deleted).toBe(1);
    expect(repo.hasBlob(stray.id)).toBe(false);
    const reopened = await fx.t.reopen();
    await expectAllReadable(reopened, w);
    await expectClean(reopened);
  });

  it('keeps what the caller names live (WAL files still growing)', async () => {
    const w = await writeWalLike(fx.t.repo, 3, 100);
    const repo = await fx.t.reopen({ now: later(48 * HOUR) });
    const report = await collectGarbage(repo, { liveBlobs: w.ids.map((id) => id.toString('hex')) });
    expect(report.packs.deleted).toBe(0);
    await expectAllReadable(await fx.t.reopen(), w);
  });

  it('refuses to delete anything when a WAL manifest cannot be read; verify reports it and WAL blobs that are gone', async () => {
    await writeWalLike(fx.t.repo, 5, 5);
    const junk = Buffer.from('not a sealed object');
    await fx.t.backend.put(`wal/${createHash('sha256').update(junk).digest('hex')}`, junk);
    const repo = await fx.t.reopen({ now: later(48 * HOUR) });
    await expect(collectGarbage(repo)).rejects.toThrow(/WAL manifest cannot be read/);
    expect((await verifyRepository(repo)).problems.map((p) => p.kind)).toContain('wal-corrupt');

    await fx.t.backend.delete(`wal/${createHash('sha256').update(junk).digest('hex')}`);
    await saveWalManifest(repo, { supersedes: [], files: [{ host: 'db1', source: 'main', name: '000000010000000000000009', size: 1, sha256: 'b'.repeat(64), content: ['c'.repeat(64)] }] });
    const v = await verifyRepository(repo);
    expect(v.problems).toEqual([expect.objectContaining({ kind: 'blob-missing', id: 'c'.repeat(64) })]);
  });
});
