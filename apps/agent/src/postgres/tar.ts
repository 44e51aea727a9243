/**
 * A streaming tar reader for pg_basebackup's output (`-Ft -D -`): members are
 * handed out one at a time with their content as an async iterable, so a
 * base backup goes from the server's socket into the chunker without a tar
 * file (or any plaintext) on disk.
 *
 * Reads ustar (what PostgreSQL writes), plus what other writers use for what
 * ustar cannot say: pax extended headers (path, linkpath, size, mtime, uid,
 * gid), GNU long names/links ('L'/'K'), and GNU base-256 numbers (sizes over
 * 8 GiB). A damaged header (bad checksum) or a stream that ends inside a
 * member is an error, never a silently short backup.
 */
import { AgentError } from '../errors.js';

const BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Path inside the archive, without a leading './' or a trailing '/'. */
  name: string;
  type: TarEntryType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (pax may give fractions). */
  mtime: number;
  /** Symlink or hard link target. */
  linkname: string;
  /** The raw typeflag character, for messages about 'other' members. */
  typeflag: string;
}

/** The archive is damaged or ends too early. */
export class TarFormatError extends AgentError {
  constructor(message: string) {
    super('CORRUPT', `tar stream: ${message}`);
  }
}

/** Pulls exact byte counts out of a stream of arbitrary pieces. */
class ByteReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(input: AsyncIterable<Uint8Array>) {
    this.it = input[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.pendingBytes < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.length === 0) continue;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
      this.pending.push(b);
      this.pendingBytes += b.length;
    }
    return this.pendingBytes >= n;
  }

  /** Exactly n bytes, or undefined when the stream ends first (what was there stays unread). */
  async exact(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    return this.take(n);
  }

  /** Up to `max` bytes (at least 1) as soon as some are there; undefined at the end of the stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.pendingBytes === 0 && !(await this.fill(1))) return undefined;
    return this.take(Math.min(max, this.pendingBytes));
  }

  private take(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length === n) {
      this.pending.shift();
      this.pendingBytes -= n;
      return first;
    }
    if (first.length > n) {
      // A copy, not a view: the chunker may keep what we hand out while we keep the rest.
      const out = Buffer.from(first.subarray(0, n));
      this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const b = this.pending[0]!;
      const k = Math.min(b.length, n - at);
      b.copy(out, at, 0, k);
      at += k;
      if (k === b.length) this.pending.shift();
      else this.pending[0] = b.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

/** A numeric header field: octal text, or GNU base-256 when the top bit of the first byte is set. */
export function parseNumber(field: Buffer, what: string): number {
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    if ((field[0]! & 0x40) !== 0) throw new TarFormatError(`negative ${what} in a base-256 field`);
    let v = field[0]! & 0x3f;
    for (let i = 1; i < field.length; i++) {
      v = v * 256 + field[i]!;
      if (!Number.isSafeInteger(v)) throw new TarFormatError(`${what} too large`);
    }
    return v;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`${what} field is not octal: ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function cstring(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function checksumOk(h: Buffer): boolean {
  const stored = parseNumber(h.subarray(148, 156), 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Old writers summed signed chars; accept either, as GNU tar does.
  return stored === unsigned || stored === signed;
}

/** Pax records: "LEN key=value\n" repeated. */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const sp = data.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number(data.subarray(at, sp).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= sp - at || at + len > data.length) throw new TarFormatError('malformed pax extended header');
    const rec = data.subarray(sp + 1, at + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    at += len;
  }
  return out;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

function cleanName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  return n.replace(/\/+$/, '');
}

/**
 * The archive's members, in order. Each member's content must be read (or
 * abandoned) before asking for the next: unread content is skipped then.
 */
export async function* readTar(input: AsyncIterable<Uint8Array>): AsyncGenerator<{ entry: TarEntry; content: AsyncIterable<Buffer> }> {
  const r = new ByteReader(input);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let globalPax = new Map<string, string>();
  try {
    for (;;) {
      const h = await r.exact(BLOCK);
      if (h === undefined) throw new TarFormatError('ended without the end-of-archive marker (the writer stopped early)');
      if (h.every((b) => b === 0)) return; // end of archive (a second zero block may follow; the rest is padding)
      if (!checksumOk(h)) throw new TarFormatError('header checksum mismatch (damaged archive or not a tar stream)');
      const flag = String.fromCharCode(h[156]!);
      let size = parseNumber(h.subarray(124, 136), 'size');
      const readAll = async (what: string): Promise<Buffer> => {
        const body = await r.exact(size);
        if (body === undefined) throw new TarFormatError(`ended inside ${what}`);
        await skipPadding(r, size);
        return body;
      };
      if (flag === 'x' || flag === 'g') {
        const recs = parsePax(await readAll('a pax header'));
        if (flag === 'g') globalPax = new Map([...globalPax, ...recs]);
        else pax = recs;
        continue;
      }
      if (flag === 'L' || flag === 'K') {
        const text = cstring(await readAll('a GNU long name'));
        if (flag === 'L') longName = text;
        else longLink = text;
        continue;
      }
      const all = new Map([...globalPax, ...pax]);
      const magic = h.subarray(257, 263).toString('latin1');
      const prefix = magic.startsWith('ustar') ? cstring(h.subarray(345, 500)) : '';
      const shortName = cstring(h.subarray(0, 100));
      const name = cleanName(all.get('path') ?? longName ?? (prefix ? `${prefix}/${shortName}` : shortName));
      if (all.has('size')) size = Number(all.get('size'));
      const entry: TarEntry = {
        name,
        type: typeOf(flag),
        mode: parseNumber(h.subarray(100, 108), 'mode') & 0o7777,
        uid: all.has('uid') ? Number(all.get('uid')) : parseNumber(h.subarray(108, 116), 'uid'),
        gid: all.has('gid') ? Number(all.get('gid')) : parseNumber(h.subarray(116, 124), 'gid'),
        size,
        mtime: all.has('mtime') ? Number(all.get('mtime')) : parseNumber(h.subarray(136, 148), 'mtime'),
        linkname: all.get('linkpath') ?? longLink ?? cstring(h.subarray(157, 257)),
        typeflag: flag,
      };
      if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new TarFormatError(`member ${name}: bad size`);
      longName = undefined;
      longLink = undefined;
      pax = new Map();
      // Only regular files carry content in the stream (a hard link's size is 0 by definition).
      const bodySize = entry.type === 'file' || entry.type === 'other' ? entry.size : 0;
      let left = bodySize;
      const content = (async function* (): AsyncGenerator<Buffer> {
        while (left > 0) {
          const piece = await r.some(Math.min(left, 1024 * 1024));
          if (piece === undefined) throw new TarFormatError(`ended inside ${name} (${bodySize - left} of ${bodySize} bytes)`);
          left -= piece.length;
          yield piece;
        }
      })();
      yield { entry, content };
      while (left > 0) {
        const piece = await r.some(Math.min(left, 1024 * 1024));
        if (piece === undefined) throw new TarFormatError(`ended inside ${name} (${bodySize - left} of ${bodySize} bytes)`);
        left -= piece.length;
      }
      await skipPadding(r, bodySize);
    }
  } finally {
    await r.return();
  }
}

/**
 * readTar over a child process's stdout (or any stream), read to its end: pg_basebackup
 * writes the second end-of-archive block after the first, and closing the
 * pipe under it then kills it with SIGPIPE, failing a backup that was
 * complete. The stream is destroyed only when the caller stops early or the
 * archive is damaged (the caller stops the writer then).
 */
export async function* readTarToEnd(input: AsyncIterable<Uint8Array>): AsyncGenerator<{ entry: TarEntry; content: AsyncIterable<Buffer> }> {
  const it: AsyncIterator<Uint8Array> = input[Symbol.asyncIterator]();
  // readTar returns its input when done: this view keeps that from destroying the stream.
  const view: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
  let whole = false;
  try {
    yield* readTar(view);
    whole = true;
  } finally {
    if (whole) while (!(await it.next()).done); // padding after the marker
    else await it.return?.();
  }
}

async function skipPadding(r: ByteReader, size: number): Promise<void> {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad > 0 && (await r.exact(pad)) === undefined) throw new TarFormatError('ended inside a member\'s padding');
}
