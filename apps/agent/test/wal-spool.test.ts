/**
 * WalSpool: segments land whole (temp name + rename, 0600), recovery taking
 * one (a rename out of the directory, as bin/wal-fetch.sh does) is noticed,
 * unclaimed ones expire, close() leaves nothing behind; and WalPrefetch hands
 * what it fetched to a spool registered late.
 */
import { mkdtemp, readdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalPrefetch } from '../src/local-api/wal-prefetch.js';
import { WalSpool } from '../src/local-api/wal-spool.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function spoolDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'pbk-spool-'));
  dirs.push(d);
  return d;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SEG1 = '000000010000000000000031';
const SEG2 = '000000010000000000000032';

describe('WalSpool', () => {
  it('writes a segment whole and 0600, and notices when recovery takes it', async () => {
    const dir = await spoolDir();
    const taken: string[] = [];
    const s = new WalSpool({ dir, uid: process.getuid!(), gid: process.getgid!(), ttlMs: 60_000, onTaken: (f) => taken.push(f), onError: () => undefined });
    await s.put(SEG1, [Buffer.from('wal '), Buffer.from('bytes')]);
    expect(await readdir(dir)).toEqual([SEG1]);
    expect((await stat(join(dir, SEG1))).mode & 0o777).toBe(0o600);
    expect(s.has(SEG1)).toBe(true);
    const out = join(await spoolDir(), 'RECOVERYXLOG');
    await rename(join(dir, SEG1), out);
    await until(() => taken.length === 1);
    expect(taken).toEqual([SEG1]);
    expect(s.has(SEG1)).toBe(false);
    expect(await readFile(out, 'utf8')).toBe('wal bytes');
    await s.close();
  });

  it('ignores names that are not segments, drops what nobody takes, and close() removes the rest', async () => {
    const dir = await spoolDir();
    const s = new WalSpool({ dir, uid: process.getuid!(), gid: process.getgid!(), ttlMs: 150, onTaken: () => undefined, onError: () => undefined });
    await s.put('00000002.history', [Buffer.from('x')]);
    await s.put('../escape', [Buffer.from('x')]);
    expect(await readdir(dir)).toEqual([]);
    await s.put(SEG1, [Buffer.from('a')]);
    await until(async () => (await readdir(dir)).length === 0);
    await s.put(SEG2, [Buffer.from('b')]);
    await s.close();
    expect(await readdir(dir)).toEqual([]);
    await s.put(SEG1, [Buffer.from('late')]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a segment it cannot write (and holds nothing for it)', async () => {
    const dir = await spoolDir();
    const errors: string[] = [];
    const s = new WalSpool({ dir, uid: process.getuid!(), gid: process.getgid!(), ttlMs: 60_000, onTaken: () => undefined, onError: (f) => errors.push(f) });
    await rm(dir, { recursive: true });
    await s.put(SEG1, [Buffer.from('a')]);
    expect(errors).toEqual([SEG1]);
    expect(s.has(SEG1)).toBe(false);
    await s.close();
  });
});

describe('WalSpool and a swapped directory', () => {
  it('does not write through a symlink put in place of its directory (its parent belongs to PostgreSQL\'s user)', async () => {
    const dir = await spoolDir();
    const elsewhere = await spoolDir();
    const errors: string[] = [];
    const s = new WalSpool({ dir, uid: process.getuid!(), gid: process.getgid!(), ttlMs: 60_000, onTaken: () => undefined, onError: (f, e) => errors.push(`${f}: ${(e as Error).message}`) });
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    await s.put(SEG1, [Buffer.from('a')]);
    expect(errors).toEqual([`${SEG1}: the spool directory ${dir} was replaced; not writing through it`]);
    expect(await readdir(elsewhere)).toEqual([]);
    await s.close();
  });
});

describe('WalPrefetch and a spool', () => {
  it('tells each fetched file as it arrives and lists what it holds for a spool registered late', async () => {
    const arrived: string[] = [];
    const p = new WalPrefetch({
      depth: 2,
      ttlMs: 60_000,
      segmentBytes: 16 * 1024 * 1024,
      fetch: async (_h, _s, file) => Buffer.from(file),
      onFetched: (h, s, file) => arrived.push(`${h}/${s}/${file}`),
    });
    p.from('db-1', 'main', SEG1);
    const held = p.held('db-1', 'main');
    expect(held.map((h) => h.file)).toEqual([SEG1, SEG2]);
    expect((await held[1]!.data)?.toString()).toBe(SEG2);
    expect(arrived).toEqual([`db-1/main/${SEG1}`, `db-1/main/${SEG2}`]);
    expect(p.held('db-2', 'main')).toEqual([]);
    p.close();
  });
});
