/**
 * A five-field cron matcher, always in UTC (the agent's schedules must mean the
 * same instant on every host, whatever its time zone or DST rules):
 *
 *   minute(0-59) hour(0-23) day-of-month(1-31) month(1-12 or jan-dec) day-of-week(0-7 or sun-sat; 0 and 7 are Sunday)
 *
 * Each field is `*`, a number or name, a range `a-b`, a step `*\/s`, `a-b/s` or
 * `a/s`, or a comma list of those. As in Vixie cron, when both day fields are
 * restricted (neither starts with `*`) a day matches if EITHER matches;
 * otherwise both must. Macros: @yearly @annually @monthly @weekly @daily
 * @midnight @hourly.
 */

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MINUTE_MS = 60_000;
/** next() gives up after this long: a schedule like "0 0 30 2 *" never fires. */
const SEARCH_LIMIT_MS = 5 * 366 * 24 * 60 * MINUTE_MS;

export class CronSchedule {
  private constructor(
    readonly text: string,
    private readonly minutes: ReadonlySet<number>,
    private readonly hours: ReadonlySet<number>,
    private readonly daysOfMonth: ReadonlySet<number>,
    private readonly months: ReadonlySet<number>,
    private readonly daysOfWeek: ReadonlySet<number>,
    /** Vixie cron's DOM_STAR/DOW_STAR: the field started with `*`. */
    private readonly domStar: boolean,
    private readonly dowStar: boolean,
  ) {}

  /** Parses a schedule; throws CronError naming the bad field. */
  static parse(text: string): CronSchedule {
    const trimmed = text.trim();
    const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
    if (expanded.startsWith('@')) throw new CronError(`unknown macro ${JSON.stringify(trimmed)}; use one of ${Object.keys(MACROS).join(' ')}`);
    const fields = expanded.split(/\s+/).filter((f) => f !== '');
    if (fields.length !== 5) {
      throw new CronError(`${JSON.stringify(text)} has ${fields.length} fields; a schedule has 5: minute hour day-of-month month day-of-week (UTC), e.g. "0 2 * * *"`);
    }
    const sets = fields.map((f, i) => parseField(f, FIELDS[i]!));
    const dow = sets[4]!;
    if (dow.has(7)) {
      dow.delete(7);
      dow.add(0);
    }
    return new CronSchedule(trimmed, sets[0]!, sets[1]!, sets[2]!, sets[3]!, dow, fields[2]!.startsWith('*'), fields[4]!.startsWith('*'));
  }

  /** Whether the minute containing `unixMs` matches. */
  matches(unixMs: number): boolean {
    const d = new Date(unixMs);
    return this.months.has(d.getUTCMonth() + 1) && this.dayMatches(d) && this.hours.has(d.getUTCHours()) && this.minutes.has(d.getUTCMinutes());
  }

  /** The first matching minute boundary strictly after `afterMs`, or undefined if none within five years. */
  next(afterMs: number): number | undefined {
    let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const limit = afterMs + SEARCH_LIMIT_MS;
    while (t <= limit) {
      const d = new Date(t);
      const y = d.getUTCFullYear();
      const mo = d.getUTCMonth();
      const day = d.getUTCDate();
      const h = d.getUTCHours();
      if (!this.months.has(mo + 1)) {
        t = Date.UTC(y, mo + 1, 1);
      } else if (!this.dayMatches(d)) {
        t = Date.UTC(y, mo, day + 1);
      } else if (!this.hours.has(h)) {
        t = Date.UTC(y, mo, day, h + 1);
      } else if (!this.minutes.has(d.getUTCMinutes())) {
        t += MINUTE_MS;
      } else {
        return t;
      }
    }
    return undefined;
  }

  private dayMatches(d: Date): boolean {
    const dom = this.daysOfMonth.has(d.getUTCDate());
    const dow = this.daysOfWeek.has(d.getUTCDay());
    if (this.domStar || this.dowStar) return dom && dow;
    return dom || dow;
  }
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new CronError(`${spec.name} field ${JSON.stringify(text)} has an empty list item`);
    const [range = '', stepText, extra] = item.split('/');
    if (extra !== undefined) throw new CronError(`${spec.name} field item ${JSON.stringify(item)} has more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronError(`${spec.name} field item ${JSON.stringify(item)}: the step must be a positive integer`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.max;
    } else {
      const [a = '', b, more] = range.split('-');
      if (more !== undefined) throw new CronError(`${spec.name} field item ${JSON.stringify(item)} is not a range a-b`);
      lo = parseValue(a, spec, item);
      // `a/s` means from a to the end of the field, as cronie reads it.
      hi = b !== undefined ? parseValue(b, spec, item) : stepText !== undefined ? spec.max : lo;
      if (hi < lo) throw new CronError(`${spec.name} field item ${JSON.stringify(item)}: the range runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function parseValue(text: string, spec: FieldSpec, item: string): number {
  const lower = text.toLowerCase();
  const named = spec.names?.indexOf(lower) ?? -1;
  if (named >= 0) return spec.name === 'month' ? named + 1 : named;
  if (!/^\d+$/.test(text)) {
    throw new CronError(`${spec.name} field item ${JSON.stringify(item)}: ${JSON.stringify(text)} is not a number${spec.names ? ' or a name' : ''}`);
  }
  const v = Number(text);
  if (v < spec.min || v > spec.max) throw new CronError(`${spec.name} field item ${JSON.stringify(item)}: ${v} is outside ${spec.min}-${spec.max}`);
  return v;
}
