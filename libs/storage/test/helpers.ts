import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { InitOptions } from '../src/repository/index.js';
import { makeTestRepo, tempDir, type TestRepo } from '../src/testing.js';

/** A small tree with every entry type the archiver must keep. */
export async function makeSampleTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'docs/nested/deeper'), { recursive: true });
  await mkdir(join(dir, 'empty'), { recursive: true });
  await writeFile(join(dir, 'hello.txt'), 'hello world\n');
  await writeFile(join(dir, 'docs/readme.md'), '# readme\n'.repeat(1000));
  await writeFile(join(dir, 'docs/nested/random.bin'), randomBytes(300 * 1024));
  await writeFile(join(dir, 'docs/nested/deeper/log.txt'), Array.from({ length: 5000 }, (_, i) => `line ${i} of the log\n`).join(''));
  await writeFile(join(dir, 'docs/copy.bin'), await readFile(join(dir, 'docs/nested/random.bin')));
  await writeFile(join(dir, 'empty.file'), '');
  await writeFile(join(dir, 'secret.key'), 'not really a key', { mode: 0o600 });
  await chmod(join(dir, 'secret.key'), 0o600);
  await writeFile(join(dir, 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'script.sh'), 0o755);
  await symlink('docs/readme.md', join(dir, 'link-to-readme'));
  await symlink('/nonexistent/absolute/target', join(dir, 'dangling'));
  await utimes(join(dir, 'hello.txt'), 1_600_000_000, 1_600_000_000.123);
}

export interface EntryFacts {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  content?: string;
  target?: string;
}

/** Everything a restore must reproduce, keyed by relative path (dir mtimes included). */
export async function describeTree(root: string): Promise<Map<string, EntryFacts>> {
  const out = new Map<string, EntryFacts>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await lstat(p);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: Math.floor(st.mtimeMs) };
      if (st.isDirectory()) {
        await walk(r);
        out.set(r, { type: 'dir', ...base });
      } else if (st.isSymbolicLink()) out.set(r, { type: 'symlink', ...base, mode: 0, target: await readlink(p) });
      else out.set(r, { type: 'file', ...base, content: (await readFile(p)).toString('base64') });
    }
  };
  await walk('');
  return out;
}

export interface RepoFixture {
  /** A fresh repository per test. */
  t: TestRepo;
  /** A fresh scratch directory per test (data, restore targets). */
  work: { dir: string; cleanup(): Promise<void> };
}

/** Registers per-test setup and cleanup of a real repository and a scratch dir. */
export function useRepoFixture(options: InitOptions = {}): RepoFixture {
  const fx = {} as RepoFixture;
  beforeEach(async () => {
    fx.t = await makeTestRepo(options);
    fx.work = await tempDir();
  });
  afterEach(async () => {
    await fx.t?.cleanup();
    await fx.work?.cleanup();
  });
  return fx;
}
