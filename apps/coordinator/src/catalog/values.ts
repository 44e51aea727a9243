/**
 * Conversions between JavaScript values and the catalog's SQL values, and the
 * input checks every store shares. Both engines get timestamps as ISO strings
 * (exact to the millisecond, no time-zone guessing) and jsonb as JSON text.
 */
import type { SourceKind, SourceRef } from '@pbk/storage';
import { CatalogError } from './errors.js';

export const SOURCE_KINDS = ['files', 'postgres', 'redis'] as const satisfies readonly SourceKind[];

export function iso(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new CatalogError('INVALID_ARGUMENT', 'invalid date: the clock or the caller passed an invalid Date');
  return d.toISOString();
}

/** A timestamptz column as a Date (both drivers parse it; strings are accepted for safety). */
export function toDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}

export function toOptionalDate(v: unknown): Date | undefined {
  return v === null || v === undefined ? undefined : toDate(v);
}

/** An int8/count column as a number: pg returns int8 as a string, PGlite as a number. */
export function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function toOptionalNumber(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : toNumber(v);
}

export function toOptionalString(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/** Host names become certificate names and path parts: letters, digits, '.', '_', '-'. */
export function assertHost(host: string): void {
  if (typeof host !== 'string' || !HOST_RE.test(host)) {
    throw new CatalogError('INVALID_ARGUMENT', `invalid host name ${JSON.stringify(host)}: use 1-253 letters, digits, '.', '_' or '-', starting and ending with a letter or digit`);
  }
}

export function assertSourceKind(kind: string): asserts kind is SourceKind {
  if (!(SOURCE_KINDS as readonly string[]).includes(kind)) {
    throw new CatalogError('INVALID_ARGUMENT', `invalid source kind ${JSON.stringify(kind)}: expected one of ${SOURCE_KINDS.join(', ')}`);
  }
}

export function assertText(what: string, value: string, maxLength = 1024): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new CatalogError('INVALID_ARGUMENT', `${what} must be a non-empty string of at most ${maxLength} characters`);
  }
}

export function assertSource(source: SourceRef): void {
  assertHost(source.host);
  assertSourceKind(source.kind);
  assertText('source name', source.name);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return typeof s === 'string' && UUID_RE.test(s);
}

const HEX64_RE = /^[0-9a-f]{64}$/;

export function assertHex64(what: string, value: string): void {
  if (typeof value !== 'string' || !HEX64_RE.test(value)) {
    throw new CatalogError('INVALID_ARGUMENT', `${what} ${JSON.stringify(value)} is not 64 lower-case hex digits`);
  }
}

export function isHex64(value: string): boolean {
  return typeof value === 'string' && HEX64_RE.test(value);
}

/** JSON text for a jsonb parameter; throws INVALID_ARGUMENT for values JSON cannot hold. */
export function jsonParam(what: string, value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error('not representable');
    // jsonb rejects NUL in strings; say so here rather than as a SQL error.
    if (text.includes('\\u0000')) throw new Error('strings may not contain NUL characters');
    return text;
  } catch (err) {
    throw new CatalogError('INVALID_ARGUMENT', `${what} cannot be stored as JSON: ${(err as Error).message}`);
  }
}
