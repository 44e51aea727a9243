import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, truncate, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { LocalBackend } from '../src/backend/index.js';
import { BlobCorruptError, BlobMissingError, NoSpaceError, UnsafePathError } from '../src/errors.js';
import { Repository } from '../src/repository/index.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { saveSnapshot, saveTree, type Snapshot, type TreeEntry } from '../src/snapshot/index.js';
import { FaultyBackend } from '../src/testing.js';
import { repairIndex, verifyRepository } from '../src/verify/index.js';
import { makeSampleTree, useRepoFixture } from './helpers.js';

const source = { host: 'h', kind: 'files' as const, name: 'd' };

async function packFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(join(dir, 'data'))) for (const f of await readdir(join(dir, 'data', sub))) if (!f.startsWith('.')) out.push(join(dir, 'data', sub, f));
  return out.sort();
}

describe('bad input: each case fails clearly and the repository stays consistent', () => {
  const fx = useRepoFixture();
  let data: string;
  beforeEach(async () => {
    data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
  });

  it('a flipped byte in a pack: restore names the blob and pack, verify reports them', async () => {
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const [pack] = await packFiles(fx.t.dir);
    const bytes = await readFile(pack!);
    bytes[100] ^= 0x01;
    await writeFile(pack!, bytes);
    const repo = await fx.t.reopen();
    const err = await restoreSnapshot(repo, snap, join(fx.work.dir, 'out')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobCorruptError);
    expect((err as BlobCorruptError).packId).toBe(pack!.split('/').pop());
    const report = await verifyRepository(repo);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['pack-corrupt', 'blob-corrupt']));
  });

  it('a truncated pack is reported, never read past its end', async () => {
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const packs = await packFiles(fx.t.dir);
    const biggest = (await Promise.all(packs.map(async (p) => ({ p, size: (await stat(p)).size })))).sort((a, b) => b.size - a.size)[0]!;
    await truncate(biggest.p, Math.floor(biggest.size / 2));
    const repo = await fx.t.reopen();
    const report = await verifyRepository(repo);
    expect(report.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['pack-size', 'pack-corrupt']));
    await expect(restoreSnapshot(repo, snap, join(fx.work.dir, 'out'))).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('a missing pack: restore says which blob is missing; verify names the pack and the damaged snapshot', async () => {
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const { rm } = await import('node:fs/promises');
    for (const p of await packFiles(fx.t.dir)) await rm(p);
    const repo = await fx.t.reopen();
    await expect(restoreSnapshot(repo, snap, join(fx.work.dir, 'out'))).rejects.toBeInstanceOf(BlobMissingError);
    const report = await verifyRepository(repo);
    expect(report.problems.some((p) => p.kind === 'pack-missing')).toBe(true);
    expect(report.snapshots).toEqual({ total: 1, complete: 0 });
  });

  it('a missing index is rebuilt from pack trailers', async () => {
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const { rm } = await import('node:fs/promises');
    await rm(join(fx.t.dir, 'index'), { recursive: true });
    const repo = await fx.t.reopen();
    expect((await verifyRepository(repo)).snapshots.complete).toBe(0);
    const repaired = await repairIndex(repo, { full: true });
    expect(repaired.unreadable).toEqual([]);
    expect(repaired.packsIndexed).toBeGreaterThan(0);
    const again = await fx.t.reopen();
    expect((await verifyRepository(again)).ok).toBe(true);
    await restoreSnapshot(again, snap, join(fx.work.dir, 'out'));
    expect(await readFile(join(fx.work.dir, 'out', 'hello.txt'), 'utf8')).toBe('hello world\n');
  });

  it('a damaged index object does not lock the repository: open skips it, verify reports it', async () => {
    await backupDirectory(fx.t.repo, data, { source });
    const [idx] = await readdir(join(fx.t.dir, 'index'));
    await writeFile(join(fx.t.dir, 'index', idx!), randomBytes(200));
    const repo = await fx.t.reopen();
    expect(repo.damagedIndexObjects).toEqual([idx]);
    const report = await verifyRepository(repo);
    expect(report.problems.some((p) => p.kind === 'index-corrupt' && p.id === idx)).toBe(true);
  });

  it('a wrong KEK and a wrong passphrase are refused with WRONG_KEY, nothing changes', async () => {
    await expect(fx.t.reopen({}, { kind: 'key', key: randomBytes(32) })).rejects.toMatchObject({ code: 'WRONG_KEY', kekVersion: 1 });
    const dir = join(fx.work.dir, 'pp-repo');
    const cheap = { N: 1024, r: 8, p: 1 };
    await Repository.init(new LocalBackend(dir), { kind: 'passphrase', passphrase: 'correct horse', scrypt: cheap });
    await expect(Repository.open(new LocalBackend(dir), { kind: 'passphrase', passphrase: 'battery staple' })).rejects.toMatchObject({ code: 'WRONG_KEY' });
    const ok = await Repository.open(new LocalBackend(dir), { kind: 'passphrase', passphrase: 'correct horse' });
    expect(ok.config.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['..', 'dot entries'],
    ['a/../../b', 'separators'],
    ['/etc/passwd', 'separators'],
    ['', 'empty'],
  ])('a tree entry named %j is refused and nothing is written outside the target', async (name, why) => {
    const dek = await fx.t.repo.keys.newDek();
    const content = (await backupDirectory(fx.t.repo, data, { source })).tree;
    const evil: TreeEntry = { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '0', subtree: content };
    const root = await saveTree(fx.t.repo, dek, fx.t.repo.keys.master.idKey, { entries: [evil] });
    await fx.t.repo.flush();
    const snap: Snapshot = { version: 1, time: new Date().toISOString(), source, tags: [], tree: root.id, dekId: dek.id.toString('hex'), summary: { files: 0, dirs: 0, bytesTotal: 0, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, durationMs: 0, errors: [] } };
    const id = await saveSnapshot(fx.t.repo, snap);
    const target = join(fx.work.dir, 'deep', 'target');
    const err = await restoreSnapshot(fx.t.repo, { ...snap, id }, target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafePathError);
    expect((err as Error).message).toContain(why);
    // Nothing landed beside or above the target.
    expect(await readdir(join(fx.work.dir, 'deep'))).toEqual(['target']);
    expect(await readdir(target)).toEqual([]);
    await expect(access(join(fx.work.dir, 'b'))).rejects.toThrow();
  });

  it('a symlink in the way of a directory is never followed on restore --force', async () => {
    const snap = await backupDirectory(fx.t.repo, data, { source });
    const target = join(fx.work.dir, 'target');
    const outside = join(fx.work.dir, 'outside');
    await mkdir(target);
    await mkdir(outside);
    await symlink(outside, join(target, 'docs'));
    await expect(restoreSnapshot(fx.t.repo, snap, target, { force: true })).rejects.toBeInstanceOf(UnsafePathError);
    expect(await readdir(outside)).toEqual([]);
  });

  it('a snapshot that references a missing blob is reported incomplete and its restore names the blob', async () => {
    const dek = await fx.t.repo.keys.newDek();
    const ghost = randomBytes(32).toString('hex');
    const root = await saveTree(fx.t.repo, dek, fx.t.repo.keys.master.idKey, {
      entries: [{ name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '0', size: 10, content: [ghost] }],
    });
    await fx.t.repo.flush();
    const snap: Snapshot = { version: 1, time: new Date().toISOString(), source, tags: [], tree: root.id, dekId: dek.id.toString('hex'), summary: { files: 1, dirs: 0, bytesTotal: 10, bytesRead: 10, blobsNew: 0, bytesNewStored: 0, durationMs: 0, errors: [] } };
    const id = await saveSnapshot(fx.t.repo, snap);
    const report = await verifyRepository(fx.t.repo);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'snapshot-incomplete', id: ghost, snapshot: id, path: '/f' })]);
    const err = await restoreSnapshot(fx.t.repo, { ...snap, id }, join(fx.work.dir, 'out')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobMissingError);
    expect((err as Error).message).toContain(ghost);
  });

  it('ENOSPC while a pack is written: the run fails with NoSpaceError, no partial pack is visible, the next run works', async () => {
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    const faulty = new FaultyBackend(new LocalBackend(fx.t.dir), [{ op: 'put', name: /^data\//, afterBytes: 1000, times: 1, error: enospc }]);
    const repo = await Repository.open(faulty, fx.t.kek, { packTargetBytes: 64 * 1024 });
    await expect(backupDirectory(repo, data, { source })).rejects.toBeInstanceOf(NoSpaceError);
    const all = await readdir(fx.t.dir, { recursive: true });
    expect(all.filter((n) => n.includes('.tmp-'))).toEqual([]);
    const reopened = await fx.t.reopen();
    expect((await verifyRepository(reopened)).ok).toBe(true);
    const snap = await backupDirectory(reopened, data, { source });
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(reopened, snap, out);
    expect(await readFile(join(out, 'docs/readme.md'), 'utf8')).toBe('# readme\n'.repeat(1000));
    expect((await verifyRepository(await fx.t.reopen())).ok).toBe(true);
  });
});
