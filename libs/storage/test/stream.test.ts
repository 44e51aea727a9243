import { randomBytes } from 'node:crypto';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeStream, TreeBuilder } from '../src/archiver/index.js';
import { StorageError, UnsafePathError } from '../src/errors.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { saveSnapshot, loadSnapshot } from '../src/snapshot/index.js';
import { verifyRepository } from '../src/verify/index.js';
import { useRepoFixture } from './helpers.js';

const source = { host: 'test-host', kind: 'postgres' as const, name: 'db' };
const META = { mode: 0o640, uid: 0, gid: 0, mtimeNs: '1700000000000000000' };

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield Buffer.from(data.subarray(i, i + size));
}

describe('streams into the repository', () => {
  const fx = useRepoFixture();

  it('stores a stream as chunks whose cuts do not depend on how it was split, and restores it byte for byte', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const ctx = { sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions };
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const a = await storeStream(ctx, pieces(data, 65536));
    const b = await storeStream(ctx, pieces(data, 1000));
    expect(a.size).toBe(data.length);
    expect(b.content).toEqual(a.content);
    expect(b.blobsNew).toBe(0); // everything deduplicated

    const tree = new TreeBuilder({ mode: 0o700, uid: 0, gid: 0, mtimeNs: META.mtimeNs });
    tree.addFile('base/1/16384', META, a);
    tree.addSymlink('pg_tblspc/16500', { ...META, mode: 0o777 }, '/srv/ts1');
    tree.addDir('base', { ...META, mode: 0o700 });
    tree.addFile('PG_VERSION', META, await storeStream(ctx, pieces(Buffer.from('15\n'), 10)));
    const saved = await tree.save(repo, dek, repo.keys.master.idKey);
    await repo.flush();
    const id = await saveSnapshot(repo, { version: 1, time: new Date().toISOString(), source, tags: [], tree: saved.root, dekId: dek.id.toString('hex'), paths: [], summary: { files: 2, dirs: 3, bytesTotal: data.length + 3, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, errors: [], durationMs: 1 } });
    const out = join(fx.work.dir, 'out');
    await restoreSnapshot(repo, await loadSnapshot(repo, id), out);
    expect((await readFile(join(out, 'base/1/16384'))).equals(data)).toBe(true);
    expect(await readFile(join(out, 'PG_VERSION'), 'utf8')).toBe('15\n');
    expect(await readlink(join(out, 'pg_tblspc/16500'))).toBe('/srv/ts1');
    expect((await stat(join(out, 'base/1/16384'))).mode & 0o777).toBe(0o640);
    expect(tree.files).toBe(2);
    expect((await verifyRepository(repo, { readDataPercent: 100 })).ok).toBe(true);
  });

  it('refuses entry paths that would leave the tree, without storing anything', () => {
    const tree = new TreeBuilder(META);
    const stored = { content: [], size: 0 };
    expect(() => tree.addFile('../etc/passwd', META, stored)).toThrow(UnsafePathError);
    expect(() => tree.addFile('/etc/passwd', META, stored)).toThrow(StorageError);
    expect(() => tree.addFile('a/../../b', META, stored)).toThrow(StorageError);
    tree.addFile('a', META, stored);
    expect(() => tree.addFile('a/b', META, stored)).toThrow(/is a file, not a directory/);
  });

  it('stops when its signal is aborted', async () => {
    const { repo } = fx.t;
    const dek = await repo.keys.newDek();
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(storeStream({ sink: repo, dek, idKey: repo.keys.master.idKey, chunker: repo.chunkerOptions, signal: controller.signal }, pieces(randomBytes(1000), 100))).rejects.toThrow('stop now');
  });
});
