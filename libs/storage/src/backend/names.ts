import { StorageError } from '../errors.js';
import type { ByteRange } from './backend.js';

/**
 * One name segment: [A-Za-z0-9._-], not starting with '.'. The leading-dot rule keeps
 * '.', '..' and hidden files out, and leaves the dot namespace to a backend's own
 * bookkeeping (LocalBackend's `.tmp-*` files), so an object can never collide with it.
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** NAME_MAX of ext4, xfs and zfs. */
const MAX_SEGMENT_BYTES = 255;
/** S3's key limit; names stay portable between backends. */
const MAX_NAME_BYTES = 1024;

export function isValidSegment(segment: string): boolean {
  return segment.length <= MAX_SEGMENT_BYTES && SEGMENT.test(segment);
}

function invalid(what: string, value: unknown, why: string): StorageError {
  return new StorageError('INVALID_ARGUMENT', `invalid object ${what} ${JSON.stringify(value)}: ${why}`);
}

/** Throws StorageError INVALID_ARGUMENT unless `name` is a relative, `/`-separated object name. */
export function validateName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw invalid('name', name, 'it is empty');
  if (name.length > MAX_NAME_BYTES) throw invalid('name', name, `it is longer than ${MAX_NAME_BYTES} bytes`);
  if (name.startsWith('/')) throw invalid('name', name, 'absolute names are not allowed');
  for (const segment of name.split('/')) {
    if (segment.length === 0) throw invalid('name', name, 'it has an empty segment (a leading, trailing or doubled "/")');
    if (!isValidSegment(segment)) {
      throw invalid('name', name, `segment ${JSON.stringify(segment)} must be [A-Za-z0-9._-], not start with ".", and be at most ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/**
 * A list prefix is an object name that may stop anywhere: '' (everything), a folder
 * ending in '/' (`data/`), or the start of a segment (`data/3f`).
 */
export function validatePrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw invalid('prefix', prefix, 'it is not a string');
  if (prefix === '') return;
  if (prefix.length > MAX_NAME_BYTES) throw invalid('prefix', prefix, `it is longer than ${MAX_NAME_BYTES} bytes`);
  if (prefix.startsWith('/')) throw invalid('prefix', prefix, 'absolute prefixes are not allowed');
  const segments = prefix.split('/');
  const last = segments.pop() ?? '';
  for (const segment of segments) {
    if (segment.length === 0) throw invalid('prefix', prefix, 'it has an empty segment');
    if (!isValidSegment(segment)) throw invalid('prefix', prefix, `segment ${JSON.stringify(segment)} is not a valid name segment`);
  }
  if (last !== '' && !isValidSegment(last)) throw invalid('prefix', prefix, `segment ${JSON.stringify(last)} is not a valid name segment`);
}

/** Throws StorageError INVALID_ARGUMENT unless offset and length are non-negative safe integers. */
export function validateRange(range: ByteRange | undefined): void {
  if (range === undefined) return;
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) throw new StorageError('INVALID_ARGUMENT', `invalid byte range: offset ${String(range.offset)} is not a non-negative integer`);
  if (range.length !== undefined && (!Number.isSafeInteger(range.length) || range.length < 0)) {
    throw new StorageError('INVALID_ARGUMENT', `invalid byte range: length ${String(range.length)} is not a non-negative integer`);
  }
}

/**
 * The bytes a (validated) range selects from an object of `size` bytes. A range that runs
 * past the end yields the short tail (empty when it starts at or past the end): see
 * backend.ts for why; callers that need exact lengths compare what they got.
 */
export function clampRange(range: ByteRange | undefined, size: number): { offset: number; length: number } {
  const offset = Math.min(range?.offset ?? 0, size);
  const end = range?.length === undefined ? size : Math.min(size, offset + range.length);
  return { offset, length: Math.max(0, end - offset) };
}
