import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { backupDirectory, ChunkWorkerPool } from '../src/archiver/index.js';
import { StorageError } from '../src/errors.js';
import { restoreSnapshot, type PlannedFile } from '../src/restore/index.js';
import { listSnapshots, loadSnapshot, loadTree } from '../src/snapshot/index.js';

import { verifyRepository } from '../src/verify/index.js';
import { describeTree, makeSampleTree, useRepoFixture } from './helpers.js';

const source = { host: 'test-host', kind: 'files' as const, name: 'sample' };

describe('backup and restore through the local repository', () => {
  const fx = useRepoFixture();

  it('restores contents and metadata exactly, at two points in time', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    const before = await describeTree(data);
    const first = await backupDirectory(fx.t.repo, data, { source, workers: 2 });
    expect(first.summary.errors).toEqual([]);
    expect(first.summary.files).toBe(8);

    await appendFile(join(data, 'docs/nested/deeper/log.txt'), 'one more line\n');
    await writeFile(join(data, 'new.txt'), 'new file');
    await rm(join(data, 'hello.txt'));
    const after = await describeTree(data);
    const second = await backupDirectory(fx.t.repo, data, { source, workers: 2 });
    expect(second.parent).toBe(first.id);
    // Only the changed and new file were read; everything else was reused by size+mtime+inode.
    expect(second.summary.bytesRead).toBeLessThan(200_000);
    expect(second.summary.bytesNewStored).toBeLessThan(first.summary.bytesNewStored / 4);

    const r1 = join(fx.work.dir, 'r1');
    const r2 = join(fx.work.dir, 'r2');
    await restoreSnapshot(fx.t.repo, first, r1);
    await restoreSnapshot(fx.t.repo, second, r2);
    expect(await describeTree(r1)).toEqual(before);
    expect(await describeTree(r2)).toEqual(after);
    // No temp file of the restore is left behind.
    expect((await readdir(r2)).filter((n) => n.startsWith('.pbk-restore-'))).toEqual([]);
  });

  it('deduplicates identical content across files and snapshots', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    const blob = Buffer.alloc(200 * 1024, 7);
    for (let i = 0; i < 5; i++) await writeFile(join(data, `same-${i}.bin`), blob);
    const s = await backupDirectory(fx.t.repo, data, { source, workers: 2 });
    const again = await backupDirectory(fx.t.repo, data, { source, workers: 2, full: true });
    expect(again.summary.bytesRead).toBe(5 * blob.length);
    expect(again.summary.blobsNew).toBe(0);
    expect(s.summary.blobsNew).toBeLessThan(6);
  });

  it('seals ahead of the MissingBlobs answer in a first backup, and still stores each repeated chunk once', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    // Files of several 4 MiB batches, each twice: after the first batch (all missing) the worker seals
    // before asking, and the copies' chunks, sealed too, must be dropped rather than stored again.
    for (let i = 0; i < 2; i++) {
      const bytes = randomBytes(9 * 1024 * 1024);
      await writeFile(join(data, `a-${i}.bin`), bytes);
      await writeFile(join(data, `b-${i}.bin`), bytes);
    }
    const before = await describeTree(data);
    const s = await backupDirectory(fx.t.repo, data, { source, workers: 1 });
    const root = await loadTree(fx.t.repo, s.tree, '/');
    const chunks = new Set(root.entries.flatMap((e) => (e.type === 'file' ? e.content : [])));
    expect(chunks.size).toBeGreaterThan(8);
    expect(s.summary.blobsNew).toBe(chunks.size + 1); // + the root tree
    const stored = [...fx.t.repo.index.packIds()].reduce((n, p) => n + (fx.t.repo.index.packEntries(p)?.length ?? 0), 0);
    expect(stored).toBe(chunks.size + 1);
    const r = join(fx.work.dir, 'r');
    await restoreSnapshot(fx.t.repo, s, r);
    expect(await describeTree(r)).toEqual(before);
  });

  it('survives a reopen: index, snapshots and keys come from the repository alone', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const reopened = await fx.t.reopen();
    const listed = await listSnapshots(reopened, { host: 'test-host' });
    expect(listed.map((s) => s.id)).toEqual([snap.id]);
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(reopened, await loadSnapshot(reopened, snap.id), out);
    expect(await describeTree(out)).toEqual(await describeTree(data));
    const report = await verifyRepository(reopened);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.snapshots).toEqual({ total: 1, complete: 1 });
  });

  it('restores a single path, and refuses a non-empty target without force', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(fx.t.repo, snap, out, { path: 'docs/nested' });
    expect((await readdir(join(out, 'nested'))).sort()).toEqual(['deeper', 'random.bin']);
    await expect(restoreSnapshot(fx.t.repo, snap, out)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await restoreSnapshot(fx.t.repo, snap, out, { force: true });
    expect(await readFile(join(out, 'hello.txt'), 'utf8')).toBe('hello world\n');
    await expect(restoreSnapshot(fx.t.repo, snap, join(fx.work.dir, 'o2'), { path: 'no/such' })).rejects.toBeInstanceOf(StorageError);
  });

  it('with writeback, flushes a large file in the background as it is written, and restores it intact', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    const big = randomBytes(40 * 1024 * 1024);
    await writeFile(join(data, 'big.bin'), big);
    await writeFile(join(data, 'small.txt'), 'small');
    const snap = await backupDirectory(fx.t.repo, data, { source, workers: 2 });
    // FileHandle is not exported: its prototype, from a handle, to count the background flushes.
    const probe = await open(join(data, 'small.txt'), 'r');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = vi.spyOn(proto, 'datasync');
    try {
      const out = join(fx.work.dir, 'out');
      await restoreSnapshot(fx.t.repo, snap, out, { writeback: true });
      // 40 MiB: one background flush, once 32 MiB were written.
      expect(datasync).toHaveBeenCalledTimes(1);
      expect((await readFile(join(out, 'big.bin'))).equals(big)).toBe(true);
      expect(await readFile(join(out, 'small.txt'), 'utf8')).toBe('small');
      datasync.mockClear();
      await restoreSnapshot(fx.t.repo, snap, join(fx.work.dir, 'out2'));
      expect(datasync).not.toHaveBeenCalled();
    } finally {
      datasync.mockRestore();
    }
  });

  it('tells onPlan every file it will write, before writing any, whole snapshot or one file', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    const snap = await backupDirectory(fx.t.repo, data, { source });
    let planned: PlannedFile[] = [];
    let written = 0;
    let writtenWhenPlanned = -1;
    const out = join(fx.work.dir, 'out');
    const stats = await restoreSnapshot(fx.t.repo, snap, out, {
      onPlan: (files) => {
        planned = [...files];
        writtenWhenPlanned = written;
      },
      onProgress: (s) => (written = s.files),
    });
    expect(writtenWhenPlanned).toBe(0);
    expect(planned).toHaveLength(stats.files);
    expect(planned.map((f) => f.where)).toContain('/hello.txt');
    const hello = planned.find((f) => f.where === '/hello.txt')!;
    expect(hello.size).toBe('hello world\n'.length);
    expect(hello.content).toHaveLength(1);
    let single: PlannedFile[] = [];
    await restoreSnapshot(fx.t.repo, snap, join(fx.work.dir, 'o3'), { path: 'hello.txt', onPlan: (files) => (single = [...files]) });
    expect(single).toEqual([hello]);
  });

  it('reports files that vanish or keep changing while read, and keeps the rest', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'steady.txt'), 'steady');
    const busy = join(data, 'busy.log');
    await writeFile(busy, Buffer.alloc(16 * 1024 * 1024, 1));
    const timer = setInterval(() => void appendFile(busy, 'x'), 1);
    let snap;
    try {
      snap = await backupDirectory(fx.t.repo, data, { source, workers: 1 });
    } finally {
      clearInterval(timer);
    }
    expect(snap.summary.errors).toEqual([{ path: 'busy.log', message: expect.stringContaining('kept changing') }]);
    expect(snap.summary.files).toBe(1);
    const dek = await fx.t.repo.keys.newDek();
    const pool = new ChunkWorkerPool({ chunker: fx.t.repo.chunkerOptions, idKey: fx.t.repo.keys.master.idKey, dekId: dek.id, dekKey: dek.key, zstdLevel: 1 }, fx.t.repo, { workers: 1 });
    try {
      expect(await pool.processFile({ path: join(data, 'gone.txt'), size: 10, mtimeNs: '0' })).toMatchObject({ reason: 'vanished' });
    } finally {
      await pool.close();
    }
  });
});
