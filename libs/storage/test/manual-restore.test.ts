import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { makeTestRepo, tempDir, type TestRepo } from '../src/testing.js';
import { describeTree, makeSampleTree } from './helpers.js';

const script = fileURLToPath(new URL('../../../docs/manual-restore.mjs', import.meta.url));

/**
 * docs/repository-format.md promises that the repository and the KEK are enough.
 * docs/manual-restore.mjs implements the spec with node:crypto and the zstd
 * command only; this test holds the spec and the code to each other.
 */
describe('restoring by hand from the format document alone', () => {
  let t: TestRepo;
  let work: { dir: string; cleanup(): Promise<void> };
  beforeEach(async () => {
    t = await makeTestRepo();
    work = await tempDir();
  });
  afterEach(async () => {
    await t.cleanup();
    await work.cleanup();
  });

  it('gives back the same files and contents as the engine', async () => {
    const data = join(work.dir, 'data');
    await mkdir(data);
    await makeSampleTree(data);
    await writeFile(join(data, 'compressible.txt'), 'pbk '.repeat(100_000));
    const snap = await backupDirectory(t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    if (t.kek.kind !== 'key') throw new Error('test repo uses a key');
    const kekFile = join(work.dir, 'kek.key');
    await writeFile(kekFile, t.kek.key.toString('base64') + '\n', { mode: 0o600 });
    const out = join(work.dir, 'out');
    const r = spawnSync(process.execPath, [script, t.dir, snap.id, out], { env: { ...process.env, PBK_KEK_FILE: kekFile }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const strip = (m: Map<string, { type: string; content?: string; target?: string }>) =>
      [...m].map(([k, v]) => [k, v.type, v.content ?? v.target ?? ''] as const);
    expect(strip(await describeTree(out))).toEqual(strip(await describeTree(data)));
    expect(await readFile(join(out, 'compressible.txt'), 'utf8')).toBe('pbk '.repeat(100_000));
  });
});
