import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { parseTime } from '../src/time.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('parseTime', () => {
  it.each([
    ['2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01T10:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01 10:00:30', Date.UTC(2024, 4, 1, 10, 0, 30)],
    ['2024-05-01T10:00:30.250Z', Date.UTC(2024, 4, 1, 10, 0, 30, 250)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-05-01T12:00+02:00', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01T12:00:00-0130', Date.UTC(2024, 4, 1, 13, 30)],
    ['2024-02-29T00:00Z', Date.UTC(2024, 1, 29)],
  ])('ISO 8601 %s (no zone is UTC)', (text, want) => {
    expect(parseTime(text, NOW)).toBe(want);
  });

  it.each([
    ['1714557600', 1714557600_000],
    ['@1714557600', 1714557600_000],
    ['1714557600.5', 1714557600_500],
    ['1714557600123', 1714557600123],
    ['0', 0],
  ])('Unix timestamp %s (13 digits are ms)', (text, want) => {
    expect(parseTime(text, NOW)).toBe(want);
  });

  it.each([
    ['now', 0],
    ['NOW', 0],
    ['2h ago', 2 * HOUR],
    ['2 hours ago', 2 * HOUR],
    ['90 minutes ago', 90 * MIN],
    ['-30m', 30 * MIN],
    ['-1h30m', 90 * MIN],
    ['- 45s', 45_000],
    ['1d 2h ago', 26 * HOUR],
    ['1.5h ago', 90 * MIN],
    ['1w ago', 7 * 24 * HOUR],
    ['  3 min ago  ', 3 * MIN],
  ])('relative %s', (text, before) => {
    expect(parseTime(text, NOW)).toBe(NOW - before);
  });

  it.each([
    '',
    'yesterday',
    '2h',
    '2 fortnights ago',
    '-',
    '-30',
    '30m ago ago',
    '+1h',
    'in 2h',
    '2024-13-01',
    '2024-02-30',
    '2023-02-29',
    '2024-05-01T24:00Z',
    '2024-05-01T10:60Z',
    '2024-05-01T10:00+25:00',
    '2024/05/01',
    '1969-12-31T23:59:59Z',
    '100000 weeks ago',
    '1.2.3',
  ])('rejects %j with a usage error naming the forms', (text) => {
    let err: unknown;
    try {
      parseTime(text, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/is not a time/);
    expect((err as Error).message).toMatch(/ISO 8601.*Unix timestamp.*relative/);
  });
});
