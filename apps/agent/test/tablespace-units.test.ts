// Tablespaces without a server: the BASE_BACKUP CopyData messages, where a
// restore places each tablespace (and what it refuses), and the move of a
// restored pg_tblspc/<oid> to its place, on the same filesystem (rename) and
// onto another one (/dev/shm, a tmpfs: copy), keeping content, modes and
// symlinks.
import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf } from '../src/errors.js';
import { baseBackupCommand, parseCopyMessage } from '../src/postgres/base-backup-protocol.js';
import { backedUpTablespaces, checkPlacesFree, moveTablespaces, placeTablespaces } from '../src/postgres/tablespaces.js';

const cleanup: string[] = [];
afterEach(async () => {
  for (const d of cleanup.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('BASE_BACKUP messages', () => {
  it('decodes new-archive, data, manifest and progress messages and refuses unknown ones', () => {
    expect(parseCopyMessage(Buffer.from('n16384.tar\0/srv/ts\0'))).toEqual({ kind: 'archive', name: '16384.tar', location: '/srv/ts' });
    expect(parseCopyMessage(Buffer.from('nbase.tar\0\0'))).toEqual({ kind: 'archive', name: 'base.tar', location: '' });
    const d = parseCopyMessage(Buffer.from('dhello'));
    expect(d.kind === 'data' && d.bytes.toString()).toBe('hello');
    expect(parseCopyMessage(Buffer.from('m'))).toEqual({ kind: 'manifest' });
    const p = Buffer.alloc(9);
    p.write('p');
    p.writeBigInt64BE(123456789n, 1);
    expect(parseCopyMessage(p)).toEqual({ kind: 'progress', bytes: 123456789 });
    expect(() => parseCopyMessage(Buffer.from('nbase.tar'))).toThrow(/without its two strings/);
    expect(() => parseCopyMessage(Buffer.from('xyz'))).toThrow(/unknown type "x".*older than PostgreSQL 15/);
  });

  it('builds the command with a quoted label and a bounded rate', () => {
    expect(baseBackupCommand({ label: "pbk-it's" })).toBe("BASE_BACKUP (LABEL 'pbk-it''s', CHECKPOINT 'fast', MANIFEST 'yes')");
    expect(baseBackupCommand({ label: 'x', maxRateKb: 1 })).toContain('MAX_RATE 32');
  });
});

describe('tablespace placement', () => {
  const labels = { tablespace_map: '16384 /srv/a\n16390 /srv/b\n', tablespace_names: '16384 fast\n16390 slow\n' };
  const ts = backedUpTablespaces(labels);

  it('reads the labels; without names the OID names the tablespace', () => {
    expect(ts).toEqual([
      { oid: '16384', name: 'fast', location: '/srv/a' },
      { oid: '16390', name: 'slow', location: '/srv/b' },
    ]);
    expect(backedUpTablespaces({ tablespace_map: '16384 /srv/a b\n' })).toEqual([{ oid: '16384', name: '16384', location: '/srv/a b' }]);
    expect(backedUpTablespaces({})).toEqual([]);
  });

  it('maps by name or OID, then under --tablespace-map-all, else back where it was', () => {
    expect(placeTablespaces(ts, {}, '', '/restore/data').map((p) => p.to)).toEqual(['/srv/a', '/srv/b']);
    expect(placeTablespaces(ts, { fast: '/x/fast' }, '', '/restore/data').map((p) => p.to)).toEqual(['/x/fast', '/srv/b']);
    expect(placeTablespaces(ts, { 16390: '/x/b' }, '/all', '/restore/data').map((p) => p.to)).toEqual(['/all/fast', '/x/b']);
  });

  it('refuses unknown names, relative places, places inside the data directory and two tablespaces in one place', () => {
    const codeOfCall = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return `${codeOf(e)}: ${(e as Error).message}`;
      }
      return undefined;
    };
    expect(codeOfCall(() => placeTablespaces(ts, { nope: '/x' }, '', '/d'))).toMatch(/^INVALID_ARGUMENT: .*"nope", which is not a tablespace of this base backup \(it has: fast \(16384\), slow \(16390\)\)/);
    expect(codeOfCall(() => placeTablespaces(ts, { fast: 'rel/dir' }, '', '/d'))).toMatch(/INVALID_ARGUMENT: tablespace fast would go to "rel\/dir"/);
    expect(codeOfCall(() => placeTablespaces(ts, {}, 'rel', '/d'))).toMatch(/--tablespace-map-all must be an absolute directory/);
    expect(codeOfCall(() => placeTablespaces(ts, { fast: '/d/pg_tblspc/x' }, '', '/d'))).toMatch(/inside the new data directory \/d/);
    expect(codeOfCall(() => placeTablespaces(ts, { fast: '/same', slow: '/same/' }, '', '/d'))).toMatch(/tablespaces fast and slow would both go to \/same/);
  });

  it('checks each place is missing or an empty directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pbk-ts-'));
    cleanup.push(root);
    await mkdir(join(root, 'empty'));
    await mkdir(join(root, 'used'));
    await writeFile(join(root, 'used', 'PG_VERSION'), '15');
    await writeFile(join(root, 'file'), '');
    const place = (to: string, location = '/elsewhere') => [{ oid: '1', name: 'fast', location, to }];
    await expect(checkPlacesFree(place(join(root, 'missing')))).resolves.toBeUndefined();
    await expect(checkPlacesFree(place(join(root, 'empty')))).resolves.toBeUndefined();
    await expect(checkPlacesFree(place(join(root, 'used'), join(root, 'used')))).rejects.toThrow(/which is not empty \(it is where the backed-up cluster keeps it.*--tablespace-map fast=DIR/);
    await expect(checkPlacesFree(place(join(root, 'file')))).rejects.toThrow(/exists and is not a directory/);
  });
});

describe('moving restored tablespaces', () => {
  /** A restored data directory with one tablespace: a file (mode 0600), a subdirectory and a symlink. */
  async function restoredTree(): Promise<string> {
    const target = await mkdtemp(join(tmpdir(), 'pbk-ts-target-'));
    cleanup.push(target);
    const ts = join(target, 'pg_tblspc', '16384', 'PG_15_202209061', '5');
    await mkdir(ts, { recursive: true, mode: 0o700 });
    await writeFile(join(ts, '16385'), Buffer.alloc(100_000, 7), { mode: 0o600 });
    await symlink('16385', join(ts, 'link'));
    return target;
  }

  const ids = { uid: process.getuid!(), gid: process.getgid!() };

  for (const [where, base] of [
    ['on the same filesystem (rename)', tmpdir()],
    ['onto another filesystem (copy)', '/dev/shm'],
  ] as const) {
    it(`moves pg_tblspc/<oid> to its place and links it back, ${where}`, async () => {
      const target = await restoredTree();
      const parent = await mkdtemp(join(base, 'pbk-ts-place-'));
      cleanup.push(parent);
      const to = join(parent, 'fast');
      await mkdir(to); // an empty directory waiting for it is fine
      if (base === '/dev/shm') expect((await stat(parent)).dev, 'the test needs /dev/shm on another filesystem than the temp dir').not.toBe((await stat(target)).dev);
      await moveTablespaces(target, [{ oid: '16384', name: 'fast', location: '/srv/a', to }], ids);
      expect(await readlink(join(target, 'pg_tblspc', '16384'))).toBe(to);
      const file = join(to, 'PG_15_202209061', '5', '16385');
      expect((await readFile(file)).equals(Buffer.alloc(100_000, 7))).toBe(true);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readlink(join(to, 'PG_15_202209061', '5', 'link'))).toBe('16385');
      expect((await lstat(to)).mode & 0o777).toBe(0o700);
    });
  }

  it('says so when the tree lacks the tablespace the labels name', async () => {
    const target = await restoredTree();
    const err = await moveTablespaces(target, [{ oid: '99', name: 'ghost', location: '/srv/g', to: join(target, '..', 'ghost-place') }], ids).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('CORRUPT');
    expect((err as Error).message).toContain('names tablespace ghost (99) but its tree has no pg_tblspc/99 directory');
  });
});

describe('a tablespace the labels do not name', () => {
  it('is an error that says what to do, not a PostgreSQL PANIC later', async () => {
    const target = await mkdtemp(join(tmpdir(), 'pbk-ts-target-'));
    cleanup.push(target);
    await mkdir(join(target, 'pg_tblspc', '16400', 'PG_15_202209061'), { recursive: true });
    const ids = { uid: process.getuid!(), gid: process.getgid!() };
    // A backup that names no tablespace: a directory there is the cluster's own (in-place), left alone.
    await expect(moveTablespaces(target, [], ids)).resolves.toBeUndefined();
    await mkdir(join(target, 'pg_tblspc', '16384', 'PG_15_202209061'), { recursive: true });
    const place = join(target, '..', `${target.split('/').pop()}-fast`);
    cleanup.push(place);
    const err = await moveTablespaces(target, [{ oid: '16384', name: 'fast', location: '/srv/a', to: place }], ids).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toContain('the backup holds tablespace pg_tblspc/16400 but its labels do not say where it lived');
  });
});

describe('wholeLines', () => {
  it('keeps whole lines only, so a cut label never names half a path', async () => {
    const { wholeLines } = await import('../src/postgres/base-backup.js');
    expect(wholeLines('1 /a\n2 /bb\n', 100)).toBe('1 /a\n2 /bb\n');
    expect(wholeLines('1 /a\n2 /bb\n', 8)).toBe('1 /a\n');
    expect(wholeLines('1 /a\n2 /bb\n', 5)).toBe('1 /a\n');
    expect(wholeLines('1 /aaaa\n', 4)).toBe('');
  });
});
