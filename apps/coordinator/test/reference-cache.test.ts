/**
 * ReferenceCache (snapshot-access.ts): the ids a snapshot references, for
 * DownloadBlobs' check, against a real repository; warm() builds them in the
 * background after a commit so the next incremental run does not wait.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupDirectory, loadTree } from '@pbk/storage';
import { makeTestRepo, tempDir, type TestRepo } from '@pbk/storage/testing';
import { ReferenceCache } from '../src/snapshot-access.js';

let t: TestRepo;
let data: { dir: string; cleanup(): Promise<void> };

beforeEach(async () => {
  t = await makeTestRepo();
  data = await tempDir('pbk-refs-');
  await mkdir(join(data.dir, 'a', 'b'), { recursive: true });
  await writeFile(join(data.dir, 'top.txt'), 'top\n');
  await writeFile(join(data.dir, 'a', 'b', 'deep.bin'), Buffer.alloc(300_000, 7));
});

afterEach(async () => {
  await data.cleanup();
  await t.cleanup();
});

const latin1 = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1');

describe('ReferenceCache', () => {
  it('holds every tree and data blob a snapshot names', async () => {
    const snap = await backupDirectory(t.repo, data.dir, { source: { host: 'h', kind: 'files', name: 'd' } });
    const refs = new ReferenceCache(t.repo, 2);
    const ids = await refs.get(snap);
    expect(ids.has(latin1(snap.tree))).toBe(true);
    // Every tree below the root, and the file's chunks.
    const expected: string[] = [];
    const walk = async (treeHex: string): Promise<void> => {
      expected.push(treeHex);
      for (const e of (await loadTree(t.repo, treeHex, '/')).entries) {
        if (e.type === 'dir' && e.subtree) await walk(e.subtree);
        if (e.type === 'file') expected.push(...(e.content ?? []));
      }
    };
    await walk(snap.tree);
    expect(expected.length).toBeGreaterThan(4);
    for (const hex of expected) expect(ids.has(latin1(hex))).toBe(true);
    expect(ids.size).toBe(new Set(expected).size);
  });

  it('warm() builds the set in the background: the next get() is the same, already settled set', async () => {
    const snap = await backupDirectory(t.repo, data.dir, { source: { host: 'h', kind: 'files', name: 'd' } });
    const refs = new ReferenceCache(t.repo, 2);
    refs.warm(snap);
    expect(refs.snapshot(snap.id)).toBeUndefined(); // nothing before the commit's answer is out
    await new Promise((r) => setImmediate(r));
    expect(refs.snapshot(snap.id)).toBe(snap);
    const first = refs.get(snap);
    expect(refs.get(snap)).toBe(first);
    expect((await first).has(latin1(snap.tree))).toBe(true);
  });
});
