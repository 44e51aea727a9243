import { chmodSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareTrees, countByKind } from '../src/compare-tree.js';
import { MiB, parseSize, walkSync } from '../src/fs-util.js';
import { generateDataset, mutateDataset } from '../src/gen-data.js';

const root = mkdtempSync(join(tmpdir(), 'pbk-bench-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `t${n++}`);

describe('generateDataset', () => {
  it('writes the same tree for the same seed, and another for another seed', async () => {
    const a = fresh(), b = fresh(), c = fresh();
    const sa = generateDataset(a, { totalBytes: 5 * MiB, seed: 3 });
    const sb = generateDataset(b, { totalBytes: 5 * MiB, seed: 3 });
    generateDataset(c, { totalBytes: 5 * MiB, seed: 4 });

    expect(sb).toMatchObject({ bytes: sa.bytes, files: sa.files, dirs: sa.dirs, symlinks: sa.symlinks });
    expect(await compareTrees(a, b, { root: true })).toEqual([]);
    const other = countByKind(await compareTrees(a, c));
    expect(Object.keys(other).length).toBeGreaterThan(0);
  });

  it('mixes the documented kinds of data in about the documented proportions', () => {
    const dir = fresh();
    const s = generateDataset(dir, { totalBytes: 8 * MiB, seed: 9 });
    expect(s.bytes).toBeGreaterThan(8 * MiB * 0.95);
    expect(s.bytes).toBeLessThan(8 * MiB * 1.05);
    expect(s.byClass.text / s.bytes).toBeCloseTo(0.35, 1);
    expect(s.byClass.media / s.bytes).toBeCloseTo(0.40, 1);
    expect(s.byClass.small / s.bytes).toBeCloseTo(0.10, 1);
    expect(s.byClass.dup / s.bytes).toBeCloseTo(0.15, 1);
    expect(s.symlinks).toBe(2);
    expect(s.emptyFiles).toBeGreaterThan(0);
    expect(lstatSync(join(dir, 'empty/nested/b/c')).isDirectory()).toBe(true);
    expect(lstatSync(join(dir, 'text/private')).mode & 0o777).toBe(0o700);
    // small files: many, 1-16 KiB
    const small = walkSync(dir).filter((e) => e.type === 'file' && e.rel.startsWith('small/'));
    expect(small.length).toBeGreaterThan(50);
    expect(small.every((e) => e.size <= 16 * 1024)).toBe(true);
    // a JSON file is valid JSON; media is incompressible-looking (not all one byte value)
    const json = walkSync(dir).find((e) => e.rel.startsWith('text/data/') && e.rel.endsWith('.json'))!;
    expect(() => JSON.parse(readFileSync(join(dir, json.rel), 'utf8'))).not.toThrow();
  });

  it('refuses a non-empty output directory', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'x'), 'x');
    expect(() => generateDataset(dir, { totalBytes: MiB, seed: 1 })).toThrow(/not empty/);
  });
});

describe('mutateDataset', () => {
  it('changes about the requested fraction of bytes, deterministically, leaving most files alone', async () => {
    const a = fresh(), b = fresh(), orig = fresh();
    for (const d of [a, b, orig]) generateDataset(d, { totalBytes: 6 * MiB, seed: 5 });
    const s = mutateDataset(a, { fraction: 0.05, seed: 5 });
    mutateDataset(b, { fraction: 0.05, seed: 5 });
    expect(await compareTrees(a, b, { root: true })).toEqual([]);

    expect(s.bytesChanged / s.bytesBefore).toBeGreaterThan(0.04);
    expect(s.bytesChanged / s.bytesBefore).toBeLessThan(0.06);
    expect(s.overwritten).toBeGreaterThan(0);
    expect(s.inserted).toBeGreaterThan(0);
    expect(s.appended).toBeGreaterThan(0);
    expect(s.filesAdded).toBeGreaterThan(0);
    expect(s.filesDeleted).toBeGreaterThan(0);

    // measure the change independently of the summary
    const before = new Map(walkSync(orig).filter((e) => e.type === 'file').map((e) => [e.rel, e.size]));
    const after = new Map(walkSync(a).filter((e) => e.type === 'file').map((e) => [e.rel, e.size]));
    let changed = 0;
    let untouched = 0;
    for (const [rel, size] of before) {
      const now = after.get(rel);
      if (now === undefined) { changed += size; continue; }
      if (now !== size) { changed += Math.abs(now - size); continue; }
      const x = readFileSync(join(orig, rel));
      const y = readFileSync(join(a, rel));
      let diff = 0;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
      if (diff === 0) untouched++;
      changed += diff;
    }
    for (const [rel, size] of after) if (!before.has(rel)) changed += size;
    expect(changed / s.bytesChanged).toBeGreaterThan(0.9);
    expect(changed / s.bytesChanged).toBeLessThan(1.1);
    expect(untouched / before.size).toBeGreaterThan(0.8);

    // changed files got a later mtime, so size+mtime change detection sees them
    const diffs = await compareTrees(orig, a);
    const contentChanged = diffs.filter((d) => d.kind === 'content' || d.kind === 'size').map((d) => d.path);
    const mtimeChanged = new Set(diffs.filter((d) => d.kind === 'mtime').map((d) => d.path));
    expect(contentChanged.length).toBeGreaterThan(0);
    for (const p of contentChanged) expect(mtimeChanged.has(p)).toBe(true);
  });
});

describe('compareTrees', () => {
  it('reports content, size, mode, mtime, symlink, type, missing and extra differences', async () => {
    const make = (dir: string): void => {
      mkdirSync(join(dir, 'sub/empty'), { recursive: true });
      for (const name of ['content', 'size', 'mode', 'mtime', 'type']) writeFileSync(join(dir, name), `same ${name}\n`);
      symlinkSync('content', join(dir, 'link'));
      lutimesSync(join(dir, 'link'), 1_700_000_000, 1_700_000_000);
      for (const name of ['content', 'size', 'mode', 'mtime', 'type']) utimesSync(join(dir, name), 1_700_000_000, 1_700_000_000);
      utimesSync(join(dir, 'sub/empty'), 1_700_000_000, 1_700_000_000);
      utimesSync(join(dir, 'sub'), 1_700_000_000, 1_700_000_000);
    };
    const a = fresh(), b = fresh();
    make(a);
    make(b);
    expect(await compareTrees(a, b)).toEqual([]);

    writeFileSync(join(b, 'content'), 'SAME content\n');
    writeFileSync(join(b, 'size'), 'longer size\n!');
    chmodSync(join(b, 'mode'), 0o600);
    utimesSync(join(b, 'mtime'), 1_700_000_000.5, 1_700_000_000.5);
    unlinkSync(join(b, 'link'));
    symlinkSync('mode', join(b, 'link'));
    unlinkSync(join(b, 'type'));
    mkdirSync(join(b, 'type'));
    rmSync(join(b, 'sub/empty'), { recursive: true });
    writeFileSync(join(b, 'extra'), '');
    for (const name of ['content', 'size', 'mode']) utimesSync(join(b, name), 1_700_000_000, 1_700_000_000);
    utimesSync(join(b, 'sub'), 1_700_000_000, 1_700_000_000);

    const diffs = await compareTrees(a, b, { symlinkMtime: false });
    const kinds = Object.fromEntries(diffs.map((d) => [d.path, d.kind]));
    expect(kinds).toEqual({
      content: 'content', size: 'size', mode: 'mode', mtime: 'mtime', link: 'symlink', type: 'type',
      'sub/empty': 'missing', extra: 'extra',
    });
    expect(diffs.find((d) => d.kind === 'mode')).toMatchObject({ expected: '0644', actual: '0600' });
    expect(diffs.find((d) => d.kind === 'symlink')).toMatchObject({ expected: 'content', actual: 'mode' });

    // millisecond precision: a sub-millisecond difference is not one
    utimesSync(join(b, 'mtime'), 1_700_000_000.0001, 1_700_000_000.0001);
    expect((await compareTrees(a, b)).some((d) => d.path === 'mtime')).toBe(false);
  });
});

describe('parseSize', () => {
  it('reads binary and decimal units', () => {
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('100MiB')).toBe(100 * 1024 ** 2);
    expect(parseSize('5M')).toBe(5 * 1024 ** 2);
    expect(parseSize('2MB')).toBe(2_000_000);
    expect(parseSize('123')).toBe(123);
    expect(() => parseSize('lots')).toThrow();
  });
});
