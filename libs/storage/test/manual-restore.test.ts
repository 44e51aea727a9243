import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { makeBlob } from '../src/blob/index.js';
import { Compactor } from '../src/compact/index.js';
import { Repository } from '../src/repository/index.js';
import { saveWalManifest } from '../src/wal/index.js';

import { describeTree, edited, makeSampleTree, pageLike, storeAsDeltas, useRepoFixture } from './helpers.js';

const script = fileURLToPath(new URL('../../../docs/manual-restore.mjs', import.meta.url));

/**
 * docs/repository-format.md promises that the repository and the KEK are enough.
 * docs/manual-restore.mjs implements the spec with node:crypto and the zstd
 * command only; this test holds the spec and the code to each other.
 */
describe('restoring by hand from the format document alone', () => {
  const fx = useRepoFixture();

  it('gives back the same files and contents as the engine', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    await writeFile(join(data, 'compressible.txt'), 'pbk '.repeat(100_000));
    const snap = await backupDirectory(fx.t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    if (fx.t.kek.kind !== 'key') throw new Error('test repo uses a key');
    const kekFile = join(fx.work.dir, 'kek.key');
    await writeFile(kekFile, fx.t.kek.key.toString('base64') + '\n', { mode: 0o600 });
    const out = join(fx.work.dir, 'out');
    const r = spawnSync(process.execPath, [script, fx.t.dir, snap.id, out], { env: { ...process.env, PBK_KEK_FILE: kekFile }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const strip = (m: Map<string, { type: string; content?: string; target?: string }>) =>
      [...m].map(([k, v]) => [k, v.type, v.content ?? v.target ?? ''] as const);
    expect(strip(await describeTree(out))).toEqual(strip(await describeTree(data)));
    expect(await readFile(join(out, 'compressible.txt'), 'utf8')).toBe('pbk '.repeat(100_000));
  });

  it('gives back files stored as delta blobs (their bases read first)', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    const v1 = pageLike(600 * 1024);
    await writeFile(join(data, 'table'), v1);
    await backupDirectory(fx.t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    const v2 = edited(v1);
    expect(await storeAsDeltas(fx.t.repo, v1, v2)).toBeGreaterThan(3);
    await writeFile(join(data, 'table'), v2);
    const snap = await backupDirectory(fx.t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    if (fx.t.kek.kind !== 'key') throw new Error('test repo uses a key');
    const kekFile = join(fx.work.dir, 'kek.key');
    await writeFile(kekFile, fx.t.kek.key.toString('base64') + '\n', { mode: 0o600 });
    const out = join(fx.work.dir, 'out');
    const r = spawnSync(process.execPath, [script, fx.t.dir, snap.id, out], { env: { ...process.env, PBK_KEK_FILE: kekFile }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((await readFile(join(out, 'table'))).equals(v2)).toBe(true);
  });

  it('gives back every complete WAL file of a source from the WAL manifests, after compaction merged them', async () => {
    const repo = fx.t.repo;
    const dek = await repo.keys.newDek();
    const files = new Map<string, Buffer>();
    const store = async (source: string, name: string, data: Buffer) => {
      const ids: string[] = [];
      for (let off = 0; off < data.length; off += 8192) {
        const b = makeBlob(dek, repo.keys.master.idKey, 'data', data.subarray(off, off + 8192));
        await repo.addBlob(b);
        await repo.flush(); // one durable upload each, as WAL streaming does
        ids.push(b.id.toString('hex'));
      }
      await saveWalManifest(repo, { supersedes: [], files: [{ host: 'db1', source, name, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), content: ids }] });
      if (source === 'main') files.set(name, data);
    };
    await store('main', '000000010000000000000001', randomBytes(40_000));
    await store('main', '000000010000000000000002', Buffer.from('wal '.repeat(10_000))); // compressed blobs
    await store('main', '00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'));
    await store('other', '000000010000000000000001', randomBytes(9000));
    // Merge packs, index objects and manifests, so the script meets `supersedes` and moved blobs.
    const later = await Repository.open(fx.t.backend, fx.t.kek, { now: () => new Date(Date.now() + 3600_000) });
    const r = await new Compactor(later).run({ minPacks: 2, deleteDelayMs: 0 });
    expect(r.packs.compacted).toBeGreaterThan(5);
    expect(r.walManifests.removed).toBe(4);

    if (fx.t.kek.kind !== 'key') throw new Error('test repo uses a key');
    const kekFile = join(fx.work.dir, 'kek.key');
    await writeFile(kekFile, fx.t.kek.key.toString('base64') + '\n', { mode: 0o600 });
    const out = join(fx.work.dir, 'wal');
    const run = spawnSync(process.execPath, [script, fx.t.dir, '--wal', 'db1', 'main', out], { env: { ...process.env, PBK_KEK_FILE: kekFile }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect((await readdir(out)).sort()).toEqual([...files.keys()].sort());
    for (const [name, data] of files) expect((await readFile(join(out, name))).equals(data)).toBe(true);
  });
});
