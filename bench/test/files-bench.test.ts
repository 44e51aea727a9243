// The pure pieces of the files benchmark: argument parsing, percentiles, the
// coordinator's commit line. The benchmark itself is not run here (it is timed
// work for an idle machine: npm run bench:files).
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editContent, parseCommitLine, parseFilesOptions } from '../src/files-bench.js';
import { percentile, summarize } from '../src/stats.js';

describe('parseFilesOptions', () => {
  it('has the documented defaults: 1 GiB generated, 50 edits, agent debounce, 300 ms gap', () => {
    expect(parseFilesOptions([])).toEqual({ generate: 1024 ** 3, seed: 1, fraction: 0.05, edits: 50, gapMs: 300, keep: false, json: false, restore: true, restores: 1, localRuns: 1, splitCores: false });
  });

  it('takes --data as an absolute path, and the other options', () => {
    const o = parseFilesOptions(['--data', 'some/dir', '--json', '--edits', '10', '--debounce-ms', '100', '--gap-ms', '0', '--work', 'w', '--keep', '--seed', '7']);
    expect(o).toMatchObject({ data: resolve('some/dir'), json: true, edits: 10, debounceMs: 100, gapMs: 0, work: resolve('w'), keep: true, seed: 7 });
    expect(parseFilesOptions(['--generate', '200MiB'])?.generate).toBe(200 * 1024 * 1024);
    expect(parseFilesOptions(['--cpu-prof', 'prof'])?.cpuProf).toBe(resolve('prof'));
    expect(parseFilesOptions(['--no-restore'])?.restore).toBe(false);
    expect(parseFilesOptions(['--local-runs', '3'])?.localRuns).toBe(3);
    expect(parseFilesOptions(['--split-cores'])?.splitCores).toBe(true);
  });

  it('returns null for --help', () => {
    expect(parseFilesOptions(['--help'])).toBeNull();
    expect(parseFilesOptions(['-h'])).toBeNull();
  });

  it('refuses bad usage with a message naming the flag', () => {
    expect(() => parseFilesOptions(['--data', 'x', '--generate', '1GiB'])).toThrow(/exclude each other/);
    expect(() => parseFilesOptions(['--generate', 'lots'])).toThrow(/cannot parse size/);
    expect(() => parseFilesOptions(['--generate', '0'])).toThrow(/--generate/);
    expect(() => parseFilesOptions(['--edits', '-1'])).toThrow(/--edits/);
    expect(() => parseFilesOptions(['--edits', '2.5'])).toThrow(/--edits/);
    expect(() => parseFilesOptions(['--debounce-ms', '700000'])).toThrow(/--debounce-ms/);
    expect(() => parseFilesOptions(['--fraction', '1'])).toThrow(/--fraction/);
    expect(() => parseFilesOptions(['--seed', 'x'])).toThrow(/--seed/);
    expect(() => parseFilesOptions(['--local-runs', '10'])).toThrow(/--local-runs/);
    expect(() => parseFilesOptions(['--nope'])).toThrow(/nope/);
    expect(() => parseFilesOptions(['stray'])).toThrow();
  });
});

describe('percentile (nearest rank)', () => {
  const oneToFifty = Array.from({ length: 50 }, (_, i) => i + 1);

  it('is always one of the samples; p99 of 50 samples is the largest', () => {
    expect(percentile(oneToFifty, 99)).toBe(50);
    expect(percentile(oneToFifty, 50)).toBe(25);
    expect(percentile(oneToFifty, 90)).toBe(45);
    expect(percentile(oneToFifty, 100)).toBe(50);
    expect(percentile(oneToFifty, 1)).toBe(1);
  });

  it('does not depend on the order of the samples and does not sort them in place', () => {
    const shuffled = [0.9, 0.1, 0.5, 0.3, 0.7];
    expect(percentile(shuffled, 50)).toBe(0.5);
    expect(shuffled).toEqual([0.9, 0.1, 0.5, 0.3, 0.7]);
    expect(percentile(Array.from({ length: 100 }, (_, i) => 100 - i), 99)).toBe(99);
  });

  it('handles one sample and none', () => {
    expect(percentile([0.42], 50)).toBe(0.42);
    expect(percentile([0.42], 99)).toBe(0.42);
    expect(percentile([], 50)).toBeNull();
  });

  it('refuses a p outside (0, 100] and non-finite samples', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1, NaN], 50)).toThrow(RangeError);
  });

  it('summarize gives min, p50, p90, p99, max and mean', () => {
    expect(summarize([3, 1, 2])).toEqual({ samples: 3, min: 1, p50: 2, p90: 3, p99: 3, max: 3, mean: 2 });
    expect(summarize([])).toEqual({ samples: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null });
  });
});

describe('parseCommitLine', () => {
  const line = (o: Record<string, unknown>): string => JSON.stringify({ level: 'info', time: '2025-01-02T03:04:05.678Z', pid: 1, msg: 'backup committed', ...o });

  it("reads the coordinator's commit line of the given source: its timestamp (ms) and snapshot", () => {
    expect(parseCommitLine(line({ source: 'h/files/watched', snapshot: 'ab12' }), 'h/files/watched')).toEqual({ timeMs: Date.UTC(2025, 0, 2, 3, 4, 5, 678), snapshot: 'ab12' });
    expect(parseCommitLine(line({ source: 'h/files/watched', snapshot: 'ab12', time: 1700000000123 }), 'h/files/watched')?.timeMs).toBe(1700000000123);
  });

  it('ignores other sources, other messages and lines that are not JSON', () => {
    expect(parseCommitLine(line({ source: 'h/files/data', snapshot: 'ab12' }), 'h/files/watched')).toBeNull();
    expect(parseCommitLine(line({ source: 'h/files/watched', snapshot: 'ab12', msg: 'backup requested' }), 'h/files/watched')).toBeNull();
    expect(parseCommitLine('backup committed (not json)', 'h/files/watched')).toBeNull();
    expect(parseCommitLine(line({ source: 'h/files/watched', snapshot: 'ab12', time: 'garbage' }), 'h/files/watched')).toBeNull();
  });
});

describe('editContent', () => {
  it('differs from one edit to the next', () => {
    const all = new Set(Array.from({ length: 50 }, (_, i) => editContent(i)));
    expect(all.size).toBe(50);
  });
});
