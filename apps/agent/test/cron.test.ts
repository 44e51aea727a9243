import { describe, expect, it } from 'vitest';
import { CronError, CronSchedule } from '../src/schedule/cron.js';
import { CronTrigger } from '../src/schedule/cron-trigger.js';
import { FakeClock } from './helpers.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('CronSchedule (UTC, 5 fields)', () => {
  it('finds the next matching minute strictly after a time', () => {
    const daily = CronSchedule.parse('0 2 * * *');
    expect(iso(daily.next(at('2025-03-10T01:59:30Z')))).toBe('2025-03-10T02:00:00.000Z');
    expect(iso(daily.next(at('2025-03-10T02:00:00Z')))).toBe('2025-03-11T02:00:00.000Z');
    expect(iso(CronSchedule.parse('*/15 * * * *').next(at('2025-03-10T10:07:00Z')))).toBe('2025-03-10T10:15:00.000Z');
    expect(iso(CronSchedule.parse('30 23 31 12 *').next(at('2025-01-01T00:00:00Z')))).toBe('2025-12-31T23:30:00.000Z');
  });

  it('reads ranges, lists, steps, names and Sunday as 0 or 7', () => {
    const s = CronSchedule.parse('5,35 9-17/4 * jan-mar MON-fri');
    expect(s.matches(at('2025-01-06T09:05:00Z'))).toBe(true); // Monday
    expect(s.matches(at('2025-01-06T13:35:00Z'))).toBe(true);
    expect(s.matches(at('2025-01-06T11:05:00Z'))).toBe(false); // 11 not in 9-17/4
    expect(s.matches(at('2025-01-05T09:05:00Z'))).toBe(false); // Sunday
    expect(s.matches(at('2025-04-07T09:05:00Z'))).toBe(false); // April
    expect(CronSchedule.parse('0 0 * * 7').matches(at('2025-01-05T00:00:00Z'))).toBe(true);
    expect(CronSchedule.parse('0 0 * * 0').matches(at('2025-01-05T00:00:00Z'))).toBe(true);
    expect(iso(CronSchedule.parse('0 3/6 * * *').next(at('2025-01-01T04:00:00Z')))).toBe('2025-01-01T09:00:00.000Z');
  });

  it('ORs day-of-month and day-of-week when both are restricted, ANDs otherwise (Vixie cron)', () => {
    const either = CronSchedule.parse('0 0 1 * 1'); // the 1st, or any Monday
    expect(either.matches(at('2025-01-06T00:00:00Z'))).toBe(true); // a Monday
    expect(either.matches(at('2025-02-01T00:00:00Z'))).toBe(true); // a Saturday, the 1st
    expect(either.matches(at('2025-01-07T00:00:00Z'))).toBe(false);
    const both = CronSchedule.parse('0 0 */2 * 1'); // starts with * -> AND
    expect(both.matches(at('2025-01-13T00:00:00Z'))).toBe(true); // Monday the 13th (odd day, */2 from 1)
    expect(both.matches(at('2025-01-06T00:00:00Z'))).toBe(false); // Monday the 6th (even)
  });

  it('expands macros', () => {
    expect(iso(CronSchedule.parse('@daily').next(at('2025-01-01T12:00:00Z')))).toBe('2025-01-02T00:00:00.000Z');
    expect(iso(CronSchedule.parse('@weekly').next(at('2025-01-01T12:00:00Z')))).toBe('2025-01-05T00:00:00.000Z');
    expect(iso(CronSchedule.parse('@hourly').next(at('2025-01-01T12:00:00Z')))).toBe('2025-01-01T13:00:00.000Z');
  });

  it('returns undefined for a date that never comes', () => {
    expect(CronSchedule.parse('0 0 30 2 *').next(at('2025-01-01T00:00:00Z'))).toBeUndefined();
    expect(iso(CronSchedule.parse('0 0 29 2 *').next(at('2025-01-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
  });

  it.each([
    ['0 2 * *', /has 4 fields/],
    ['60 * * * *', /minute .*outside 0-59/],
    ['* 24 * * *', /hour .*outside 0-23/],
    ['* * 0 * *', /day of month .*outside 1-31/],
    ['* * * 13 *', /month .*outside 1-12/],
    ['* * * * 8', /day of week .*outside 0-7/],
    ['*/0 * * * *', /step must be a positive integer/],
    ['5-1 * * * *', /runs backwards/],
    ['a * * * *', /not a number/],
    ['1,,2 * * * *', /empty list item/],
    ['@often', /unknown macro/],
  ])('rejects %j', (text, message) => {
    expect(() => CronSchedule.parse(text)).toThrow(CronError);
    expect(() => CronSchedule.parse(text)).toThrow(message);
  });
});

describe('CronTrigger', () => {
  it('fires at each matching minute on the injected clock, and stops', () => {
    const clock = new FakeClock(at('2025-01-01T01:58:00Z'));
    const fired: string[] = [];
    const t = new CronTrigger(CronSchedule.parse('0 2 * * *'), clock, (when) => fired.push(new Date(when).toISOString()));
    t.start();
    expect(iso(t.next)).toBe('2025-01-01T02:00:00.000Z');
    clock.advance(60_000);
    expect(fired).toEqual([]);
    clock.advance(60_000);
    expect(fired).toEqual(['2025-01-01T02:00:00.000Z']);
    clock.advance(24 * 3600_000);
    expect(fired).toEqual(['2025-01-01T02:00:00.000Z', '2025-01-02T02:00:00.000Z']);
    t.stop();
    clock.advance(48 * 3600_000);
    expect(fired).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });
});
