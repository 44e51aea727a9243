import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatDuration, formatTime, formatTimeAgo, renderTable, shortId } from '../src/format.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1024 * 1024 - 1, '1.0 MiB'],
    [12.34 * 1024 * 1024, '12.3 MiB'],
    [1.25 * 1024 ** 3, '1.3 GiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    ['1073741824', '1.0 GiB'],
    [-1, '?'],
  ])('%s -> %s', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });
});

describe('formatAgo', () => {
  it.each([
    [NOW, 'just now'],
    [NOW - 999, 'just now'],
    [NOW - 42_000, '42 s ago'],
    [NOW - 3 * 60_000 - 5000, '3 min ago'],
    [NOW - 5 * 3_600_000, '5 h ago'],
    [NOW - 47 * 3_600_000, '47 h ago'],
    [NOW - 12 * 86_400_000, '12 days ago'],
    [NOW + 3 * 60_000, 'in 3 min'],
    [String(NOW - 60_000), '1 min ago'],
  ])('%s -> %s', (at, want) => {
    expect(formatAgo(at, NOW)).toBe(want);
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850 ms'],
    [42_000, '42 s'],
    [185_000, '3 min 05 s'],
    [2 * 3_600_000 + 3 * 60_000, '2 h 03 min'],
    [76 * 3_600_000, '3 d 4 h'],
    ['1500', '1 s'],
    [3 * 60_000, '3 min'],
    [3_600_000, '1 h'],
    [48 * 3_600_000, '2 d'],
  ])('%s -> %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe('times', () => {
  it('prints UTC ISO to the second, "-" for the unset 0', () => {
    expect(formatTime(NOW + 123)).toBe('2024-05-01T12:00:00Z');
    expect(formatTime('0')).toBe('-');
    expect(formatTimeAgo(NOW - 180_000, NOW)).toBe('2024-05-01T11:57:00Z (3 min ago)');
    expect(formatTimeAgo(0, NOW)).toBe('-');
  });
});

describe('renderTable', () => {
  it('aligns columns, right-aligns numbers, does not pad the last column', () => {
    const text = renderTable(
      [{ header: 'HOST' }, { header: 'SIZE', align: 'right' }, { header: 'NOTE' }],
      [
        ['db-1', '1.0 GiB', 'ok'],
        ['web-12', '12 B', ''],
      ],
    );
    expect(text).toBe(['HOST       SIZE  NOTE', 'db-1    1.0 GiB  ok', 'web-12     12 B', ''].join('\n'));
  });

  it('shows ids as 8 hex digits', () => {
    expect(shortId(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'))).toBe('01234567');
    expect(shortId(Buffer.alloc(0))).toBe('-');
  });
});
