/**
 * Field checks shared by every part of the agent's config: each problem is
 * collected with the field it belongs to, so a file's problems are reported
 * all at once.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, posix, resolve } from 'node:path';
import { AgentError } from '../errors.js';
import { CronError, CronSchedule } from '../schedule/cron.js';

export class Problems {
  readonly list: { field: string; message: string }[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}

export function integer(o: Record<string, unknown>, key: string, prefix: string, def: number, min: number, max: number, problems: Problems): number {
  const v = o[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    problems.add(`${prefix}${key}`, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}

export function boolean(o: Record<string, unknown>, key: string, prefix: string, def: boolean, problems: Problems): boolean {
  const v = o[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') {
    problems.add(`${prefix}${key}`, `must be true or false, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}

export function unknownFields(o: Record<string, unknown>, known: readonly string[], prefix: string, problems: Problems): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    problems.add(`${prefix}${key}`, `unknown field${near ? `; did you mean ${near}?` : `; known: ${known.join(', ')}`}`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** A cron schedule (5 fields, UTC); `def` when the field is absent, undefined when it is null (schedule off). */
export function cronField(o: Record<string, unknown>, key: string, prefix: string, def: string | undefined, problems: Problems): CronSchedule | undefined {
  const v = o[key] === undefined ? def : o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    problems.add(`${prefix}${key}`, 'must be a cron string (5 fields, UTC), e.g. "0 2 * * *"');
    return undefined;
  }
  try {
    const schedule = CronSchedule.parse(v);
    if (schedule.next(Date.now()) === undefined) problems.add(`${prefix}${key}`, `${JSON.stringify(v)} never fires (no such date)`);
    return schedule;
  } catch (err) {
    problems.add(`${prefix}${key}`, err instanceof CronError ? err.message : String(err));
    return undefined;
  }
}

/** Where a secret comes from: a file (read when needed, never logged) or an environment variable. Never the config itself. */
export type SecretRef = { file: string } | { env: string } | undefined;

/**
 * `passwordFile: /etc/pbk/redis.pass` or `passwordEnv: REDIS_PASSWORD`; an
 * inline `password:` is refused so secrets stay out of config files that get
 * copied around and backed up.
 */
export function secretField(o: Record<string, unknown>, base: string, prefix: string, baseDir: string, problems: Problems): SecretRef {
  const fileKey = `${base}File`;
  const envKey = `${base}Env`;
  if (o[base] !== undefined) problems.add(`${prefix}${base}`, `inline secrets are not accepted: use ${fileKey} (a 0600 file) or ${envKey} (an environment variable name)`);
  const file = o[fileKey];
  const env = o[envKey];
  if (file !== undefined && env !== undefined) {
    problems.add(`${prefix}${fileKey}`, `give ${fileKey} or ${envKey}, not both`);
    return undefined;
  }
  if (file !== undefined) {
    if (typeof file !== 'string' || file.trim() === '') problems.add(`${prefix}${fileKey}`, 'must be a file path');
    else return { file: resolve(baseDir, file) };
  }
  if (env !== undefined) {
    if (typeof env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) problems.add(`${prefix}${envKey}`, 'must be an environment variable name');
    else return { env };
  }
  return undefined;
}

/** Reads a secret when it is needed; the error names where it looked, never the value. */
export async function readSecret(ref: SecretRef, what: string): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined) throw new AgentError('FAILED_PRECONDITION', `${what}: environment variable ${ref.env} is not set in the agent's environment`);
    return v;
  }
  let text: string;
  try {
    text = await readFile(ref.file, 'utf8');
  } catch (err) {
    throw new AgentError('FAILED_PRECONDITION', `${what}: ${ref.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return text.replace(/\r?\n$/, '');
}

/** An absolute path field; undefined when absent. */
export function absolutePath(o: Record<string, unknown>, key: string, prefix: string, problems: Problems): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !isAbsolute(v) || v.includes('\0')) {
    problems.add(`${prefix}${key}`, `must be an absolute path, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return posix.normalize(v);
}

/** A non-empty string field; `def` when absent. */
export function text(o: Record<string, unknown>, key: string, prefix: string, def: string | undefined, problems: Problems): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || v.trim() === '') {
    problems.add(`${prefix}${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}
