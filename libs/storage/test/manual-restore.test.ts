import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';

import { describeTree, makeSampleTree, useRepoFixture } from './helpers.js';

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
});
