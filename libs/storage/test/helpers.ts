import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { keyedId } from '@pbk/crypto';
import { sealChunk, sealDeltaChunk } from '../src/blob/index.js';
import { Chunker } from '../src/chunker/index.js';
import type { InitOptions, Repository } from '../src/repository/index.js';
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

/** Compressible but not trivial: lines of text with random numbers, like a table's pages. */
export function pageLike(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line = `row ${lines.length} author ${Math.floor(Math.random() * 5000)} ${randomBytes(12).toString('hex')} hello there\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** `base` with a few bytes changed every 8 KiB, as row updates change a page. */
export function edited(base: Buffer): Buffer {
  const out = Buffer.from(base);
  for (let at = 100; at < out.length; at += 8192) out.writeUInt32LE(0xdeadbeef, at);
  return out;
}

/** Stores every chunk of `data` the repository lacks as a delta against the chunk at the same index of `previous`. */
export async function storeAsDeltas(repo: Repository, previous: Buffer, data: Buffer): Promise<number> {
  const cut = (b: Buffer) => {
    const c = new Chunker(repo.chunkerOptions);
    const out = c.push(b);
    const last = c.finish();
    return last ? [...out, last] : out;
  };
  const olds = cut(previous);
  const dek = await repo.keys.newDek();
  let stored = 0;
  for (const [i, chunk] of cut(data).entries()) {
    const id = keyedId(repo.keys.master.idKey, chunk);
    if (repo.index.has(id) || !olds[i]) continue;
    const full = sealChunk(dek, 'data', id, chunk);
    const delta = sealDeltaChunk(dek, id, chunk, keyedId(repo.keys.master.idKey, olds[i]!), olds[i]!, full.sealed.length);
    await repo.addBlob(delta ?? full);
    if (delta) stored++;
  }
  await repo.flush();
  return stored;
}
