import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { collectGarbage } from '../src/gc/index.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { listSnapshots } from '../src/snapshot/index.js';

import { verifyRepository } from '../src/verify/index.js';
import { useRepoFixture } from './helpers.js';

const source = { host: 'h', kind: 'files' as const, name: 'd' };

describe('garbage collection', () => {
  const fx = useRepoFixture({ packTargetBytes: 128 * 1024 });
  let data: string;
  beforeEach(async () => {
    data = join(fx.work.dir, 'data');
    await mkdir(data);
  });

  it('sweeps what only forgotten snapshots used, destroys their keys, keeps the rest restorable', async () => {
    await writeFile(join(data, 'keep.bin'), randomBytes(400 * 1024));
    await writeFile(join(data, 'drop.bin'), randomBytes(400 * 1024));
    const old = await backupDirectory(fx.t.repo, data, { source });
    await rm(join(data, 'drop.bin'));
    await writeFile(join(data, 'new.bin'), randomBytes(100 * 1024));
    const kept = await backupDirectory(fx.t.repo, data, { source });
    const deksBefore = await fx.t.repo.keys.listDekIds();
    expect(deksBefore).toEqual(expect.arrayContaining([old.dekId, kept.dekId]));

    // Within the grace period nothing is touched.
    await fx.t.repo.deleteObject('snapshot', old.id);
    const early = await collectGarbage(fx.t.repo);
    expect(early.packs.deleted + early.packs.repacked).toBe(0);
    expect(early.deksDestroyed).toEqual([]);

    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    const report = await collectGarbage(later);
    expect(report.bytesFreed).toBeGreaterThan(300 * 1024);
    expect(report.packs.deleted + report.packs.repacked).toBeGreaterThan(0);
    // keep.bin (old DEK) is still referenced by the kept snapshot, so the old DEK survives
    // unless every blob sealed with it is gone.
    const survivors = await later.keys.listDekIds();
    expect(survivors).toContain(kept.dekId);

    const reopened = await fx.t.reopen();
    const v = await verifyRepository(reopened);
    expect(v.problems).toEqual([]);
    expect((await listSnapshots(reopened)).map((s) => s.id)).toEqual([kept.id]);
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(reopened, kept, out);
    expect((await readdir(out)).sort()).toEqual(['keep.bin', 'new.bin']);
  });

  it('crypto-erases the DEK of a run once none of its blobs is left', async () => {
    await writeFile(join(data, 'only.bin'), randomBytes(300 * 1024));
    const snap = await backupDirectory(fx.t.repo, data, { source });
    await fx.t.repo.deleteObject('snapshot', snap.id);
    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    const report = await collectGarbage(later);
    expect(report.deksDestroyed).toContain(snap.dekId);
    expect(await later.keys.listDekIds()).not.toContain(snap.dekId);
    expect((await readdir(join(fx.t.dir, 'data'), { recursive: true })).filter((n) => n.length > 3)).toEqual([]);
  });

  it('keeps blobs a backup in flight was told exist, even when no snapshot names them yet', async () => {
    await writeFile(join(data, 'a.bin'), randomBytes(300 * 1024));
    const snap = await backupDirectory(fx.t.repo, data, { source });
    await fx.t.repo.deleteObject('snapshot', snap.id);
    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    // A run that dedups against those blobs while GC plans (its chunks and, for an unchanged
    // directory, the tree): simulated by claiming during the mark through the same repository
    // handle the coordinator would share. All of them: with the data alone, the tree blob sits
    // alone in the last pack whenever the random data's chunks fill the first pack exactly,
    // and that pack is rightly deleted (the test failed ~1 run in 12).
    const ids = [...later.index.entries()].map(([id]) => id);
    expect(ids.some((id) => later.index.get(id)?.type === 'data')).toBe(true);
    const gc = collectGarbage(later);
    expect(later.claimMissing(ids).every((need) => !need)).toBe(true);
    const report = await gc;
    expect(report.packs.deleted).toBe(0);
    for (const id of ids) expect(later.hasBlob(id)).toBe(true);
  });

  it('dry run changes nothing', async () => {
    await writeFile(join(data, 'a.bin'), randomBytes(200 * 1024));
    const snap = await backupDirectory(fx.t.repo, data, { source });
    await fx.t.repo.deleteObject('snapshot', snap.id);
    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    const before = await readdir(fx.t.dir, { recursive: true });
    const report = await collectGarbage(later, { dryRun: true });
    expect(report.packs.deleted).toBeGreaterThan(0);
    expect(await readdir(fx.t.dir, { recursive: true })).toEqual(before);
  });
});
