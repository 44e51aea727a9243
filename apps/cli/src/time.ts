/**
 * The TIME values of --at, --since and --until. Pure: the caller passes `now`.
 *
 *   ISO 8601   2024-05-01, 2024-05-01T10:00, 2024-05-01 10:00:30.5Z, 2024-05-01T12:00+02:00
 *              (no zone means UTC: every time pbk prints is UTC, so what you
 *              copy from its output means the same when pasted back)
 *   Unix time  1714557600 or @1714557600 (seconds, fractions allowed);
 *              13 digits or more are read as milliseconds
 *   relative   now, 2h ago, 90 minutes ago, -30m, -1h30m, 1d 2h ago
 *              units: s, m/min, h, d, w (and their long names)
 */
import { UsageError } from './errors.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const UNITS: ReadonlyMap<string, number> = new Map([
  ...['s', 'sec', 'secs', 'second', 'seconds'].map((u) => [u, SECOND] as const),
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((u) => [u, MINUTE] as const),
  ...['h', 'hr', 'hrs', 'hour', 'hours'].map((u) => [u, HOUR] as const),
  ...['d', 'day', 'days'].map((u) => [u, DAY] as const),
  ...['w', 'wk', 'wks', 'week', 'weeks'].map((u) => [u, 7 * DAY] as const),
]);

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const UNIX_RE = /^@?(\d+)(?:\.(\d+))?$/;
/** Seconds since 1970 stay below this until the year 5138; a bigger number is milliseconds. */
const MS_THRESHOLD = 100_000_000_000;
const PART_RE = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*/gy;

export const TIME_FORMS = 'ISO 8601 (2024-05-01T10:00Z; no zone means UTC), a Unix timestamp (1714557600) or a relative time (2h ago, -30m, now)';

/** Milliseconds since the epoch for a TIME value; throws UsageError saying which forms work. */
export function parseTime(text: string, now: number): number {
  const input = text.trim();
  const bad = (why?: string): UsageError => new UsageError(`${JSON.stringify(text)} is not a time${why ? ` (${why})` : ''}: use ${TIME_FORMS}`);
  if (input === '') throw bad();
  if (input.toLowerCase() === 'now') return now;

  const unix = UNIX_RE.exec(input);
  if (unix) {
    const value = Number(`${unix[1]}.${unix[2] ?? '0'}`);
    return Math.round(value >= MS_THRESHOLD ? value : value * SECOND);
  }

  const iso = ISO_RE.exec(input);
  if (iso) {
    const at = parseIso(iso, bad);
    if (at < 0) throw bad('before 1970');
    return at;
  }

  const lower = input.toLowerCase();
  let span: string | undefined;
  if (lower.startsWith('-')) span = lower.slice(1).trim();
  else if (lower.endsWith(' ago')) span = lower.slice(0, -' ago'.length).trim();
  else if (/^(\+|in\s)/.test(lower)) throw bad('a future time is never a backup');
  if (span !== undefined) {
    const ms = parseSpan(span);
    if (ms === undefined) throw bad();
    const at = now - ms;
    if (at < 0) throw bad('before 1970');
    return Math.round(at);
  }
  throw bad();
}

/** "1h30m", "2 hours", "1d 2h": the sum in ms, or undefined if any part is not a number and unit. */
function parseSpan(span: string): number | undefined {
  if (span === '') return undefined;
  let total = 0;
  PART_RE.lastIndex = 0;
  let consumed = 0;
  for (let m = PART_RE.exec(span); m !== null; m = PART_RE.exec(span)) {
    const unit = UNITS.get(m[2] ?? '');
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    consumed = PART_RE.lastIndex;
  }
  return consumed === span.length ? total : undefined;
}

function parseIso(m: RegExpExecArray, bad: (why?: string) => UsageError): number {
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const fraction = m[7] === undefined ? 0 : Number(`0.${m[7]}`);
  if (month < 1 || month > 12) throw bad(`month ${month}`);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) throw bad(`${year}-${String(month).padStart(2, '0')} has no day ${day}`);
  if (hour > 23 || minute > 59 || second > 59) throw bad('hours 00-23, minutes and seconds 00-59');
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(fraction * SECOND);
  return utc - zoneOffsetMs(m[8], bad);
}

function zoneOffsetMs(zone: string | undefined, bad: (why?: string) => UsageError): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) throw bad(`zone offset ${zone}`);
  return sign * (hours * HOUR + minutes * MINUTE);
}
