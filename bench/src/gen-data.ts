// Deterministic benchmark data: same seed and size -> byte-identical tree
// (contents, modes, mtimes, symlinks, empty dirs).
//
// Data mix, by bytes (of `totalBytes`):
//   35 % text/     compressible text: log files (half of it), JSON arrays of
//                  records (a quarter), source-like code in nested dirs (a quarter)
//   40 % media/    incompressible bytes: a few large "videos" (20-100 MiB each
//                  at 1 GiB; scaled down for small sets) and "photos" (1-8 MiB)
//   10 % small/    thousands of 1-16 KiB files in nested dirs (60 % text-like,
//                  40 % random "thumbnails"), some 0600, scripts 0755
//   15 % dup/      duplicated content: half are copies of files found elsewhere
//                  in the tree, half are units written 2-4 times under
//                  different names (release-N/...)
//   plus           empty files, empty dirs (nested too), two relative symlinks
//                  (one to a file, one to a directory), a 0700 directory.
//
// Content of each file depends only on (seed, path): random bytes come from an
// AES-256-CTR keystream under a key derived from that label (~1 GB/s), text
// from a small sfc32 PRNG seeded the same way. Structure (how many files, their
// sizes) comes from one sequential PRNG seeded from the seed. Mtimes are whole
// multiples of 1/64 s so they survive a round trip through a double exactly.
//
// mutateDataset() changes about `fraction` of the bytes so a deduplicating
// engine can reuse most chunks: overwrites in the middle of large files,
// insertions near the start of text files, appends to logs, new files, and a
// few deletions (see MUTATION_SHARES).
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import {
  appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync,
  readdirSync, realpathSync, symlinkSync, unlinkSync, utimesSync, lutimesSync, writeFileSync, writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KiB, MiB, formatBytes, parseSize, walkSync, type TreeEntry } from './fs-util.js';

// ---------------------------------------------------------------- randomness

/** sfc32: small, fast, good enough for structure and text; seeded by SHA-256 of a label. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(label: string) {
    const h = createHash('sha256').update(label).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }
}

const ZEROS = Buffer.alloc(4 * MiB);

/** Deterministic incompressible bytes: the AES-256-CTR keystream under a key derived from the label. */
export class Keystream {
  private readonly cipher: Cipher;

  constructor(label: string) {
    const key = createHash('sha256').update('pbk-bench keystream\0').update(label).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** The next n bytes (n <= 4 MiB). */
  bytes(n: number): Buffer {
    if (n > ZEROS.length) throw new RangeError('Keystream.bytes: at most 4 MiB per call');
    return this.cipher.update(ZEROS.subarray(0, n));
  }
}

// ---------------------------------------------------------------- text

const WORDS = (
  'the of and to in is that for it as was with be by on not this are or from at which but have an they ' +
  'one all can has there been if more when will would who so no time about out up into just may only over ' +
  'new also after used two what any some these first could other than then its most made like between ' +
  'system request response server client timeout retry connection queue worker job batch record user ' +
  'account order invoice payment session token cache index table column value buffer stream packet ' +
  'backup restore snapshot chunk pack blob tree verify checksum replica primary standby region lease ' +
  'failed succeeded started finished pending accepted rejected skipped expired rotated flushed'
).split(' ');
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const COMPONENTS = ['http', 'db.pool', 'auth', 'scheduler', 'cache', 'worker-1', 'worker-2', 'replication', 'api.v2', 'billing', 'mailer', 'gc'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];
const PATHS = ['/api/v1/users', '/api/v1/orders', '/api/v2/invoices', '/healthz', '/static/app.js', '/api/v1/search', '/login', '/api/v1/items'];
const STATUS = [200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 500, 502, 503];
const EVENTS = ['checkpoint', 'vacuum', 'flush', 'compaction', 'rotate', 'sync', 'rebalance', 'evict', 'reload'];
const TYPES = ['number', 'string', 'boolean', 'Buffer', 'Record<string, number>', 'Promise<void>', 'Uint8Array', 'Options'];
const CHUNK_BYTES = 1 * MiB;
/** Longest single record a generator may write past its target (a stack trace, a function). */
const SLACK = 16 * KiB;

// Text is written as bytes straight into a buffer: building strings ran at ~25 MiB/s, this at a few hundred.
const enc = (s: string): Buffer => Buffer.from(s, 'latin1');
const encAll = (items: readonly (string | number)[]): Buffer[] => items.map((x) => enc(String(x)));
const W = encAll(WORDS);
const WCAP = encAll(WORDS.map((w) => w.charAt(0).toUpperCase() + w.slice(1)));
const B_LEVELS = encAll(LEVELS);
const B_COMPONENTS = encAll(COMPONENTS);
const B_METHODS = encAll(METHODS);
const B_PATHS = encAll(PATHS);
const B_STATUS = encAll(STATUS);
const B_EVENTS = encAll(EVENTS);
const B_TYPES = encAll(TYPES);
const HEX = enc('0123456789abcdef');

/** An append-only byte buffer for ASCII text. */
class Out {
  readonly buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  b(bytes: Uint8Array): this {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < bytes.length; i++) buf[p++] = bytes[i]!;
    this.pos = p;
    return this;
  }

  ch(c: number): this {
    this.buf[this.pos++] = c;
    return this;
  }

  /** Non-negative integer in decimal. */
  n(v: number): this {
    if (v < 10) return this.ch(48 + v);
    let digits = 0;
    for (let x = v; x > 0; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let x = v; x > 0; x = Math.floor(x / 10)) this.buf[--p] = 48 + (x % 10);
    return this;
  }

  /** Zero-padded to width. */
  pad(v: number, width: number): this {
    let p = this.pos + width;
    this.pos = p;
    for (let i = 0; i < width; i++, v = Math.floor(v / 10)) this.buf[--p] = 48 + (v % 10);
    return this;
  }

  hex8(v: number): this {
    for (let sh = 28; sh >= 0; sh -= 4) this.buf[this.pos++] = HEX[(v >>> sh) & 15]!;
    return this;
  }

  words(rng: Rng, n: number): this {
    this.b(rng.pick(W));
    for (let i = 1; i < n; i++) this.ch(32).b(rng.pick(W));
    return this;
  }

  ident(rng: Rng): this {
    return this.b(rng.pick(W)).b(rng.pick(WCAP));
  }

  /** ISO-8601 UTC timestamp with milliseconds. */
  ts(ms: number, cache: { day: number; prefix: Buffer }): this {
    const day = Math.floor(ms / 86_400_000);
    if (day !== cache.day) {
      cache.day = day;
      cache.prefix = enc(new Date(day * 86_400_000).toISOString().slice(0, 11));
    }
    let r = ms - day * 86_400_000;
    const h = Math.floor(r / 3_600_000); r -= h * 3_600_000;
    const m = Math.floor(r / 60_000); r -= m * 60_000;
    const sec = Math.floor(r / 1000); r -= sec * 1000;
    return this.b(cache.prefix).pad(h, 2).ch(58).pad(m, 2).ch(58).pad(sec, 2).ch(46).pad(r, 3).ch(90);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** A camelCase identifier from two words (for file names). */
function ident(rng: Rng): string {
  const b = rng.pick(WORDS);
  return rng.pick(WORDS) + b.charAt(0).toUpperCase() + b.slice(1);
}

export type TextKind = 'log' | 'json' | 'source';

/** A text generator: each call returns at least `approx` bytes (at most ~1 MiB + a record) of ASCII ending with a newline. */
export type TextGen = (approx: number) => Buffer;

const L = {
  http: enc(' [http] '), ms: enc('ms req='), ip: enc(' ip=10.'), id: enc(' id='), event: enc('] event='),
  dur: enc(' duration_ms='), rows: enc(' rows='), user: enc(' user=u'), error: enc(' ERROR ['), errColon: enc('Error: '),
  at: enc('    at '), atPath: enc(' (/srv/app/src/'), js: enc('.js:'),
  jId: enc('  {"id":'), jName: enc(',"name":"'), jEmail: enc('","email":"'), jEx: enc('@example.com","created":"'),
  jTags: enc('","tags":["'), jTagSep: enc('","'), jScore: enc('"],"score":'), jActive: enc(',"active":'),
  jTrue: enc('true'), jFalse: enc('false'), jCity: enc(',"address":{"city":"'), jZip: enc('","zip":"'),
  jStreet: enc('","street":"'), jSt: enc(' st"},"note":'), jNull: enc('null'), jEnd: enc('},\n'),
  cmt: enc('// '), fn: enc('export function '), colon: enc(': '), comma: enc(', '), ret: enc('): '), open: enc(' {\n'),
  cnst: enc('  const '), eq: enc(' = '), q: enc("', '"), qEnd: enc("');\n"), iff: enc('  if ('), gt: enc(' > '),
  thenRet: enc(') {\n    return '), close1: enc(');\n  }\n'), forA: enc('  for (let i = 0; i < '), forB: enc('.length; i++) {\n    '),
  plusEq: enc(' += '), idx: enc('[i] * '), forEnd: enc(';\n  }\n'), todo: enc('  // TODO('), todoB: enc('): '),
  retEnd: enc('  return '), fnEnd: enc(';\n}\n\n'),
} as const;

function logGen(rng: Rng, startMs: number): TextGen {
  let t = startMs;
  const cache = { day: -1, prefix: Buffer.alloc(0) };
  return (approx) => {
    const want = Math.min(approx, CHUNK_BYTES);
    const o = new Out(want + SLACK);
    while (o.pos < want) {
      t += rng.int(0, 900);
      o.ts(t, cache);
      const k = rng.next() % 20;
      if (k < 8) {
        o.ch(32).b(rng.pick(B_LEVELS)).b(L.http).b(rng.pick(B_METHODS)).ch(32).b(rng.pick(B_PATHS)).ch(47).n(rng.int(1, 99999))
          .ch(32).b(rng.pick(B_STATUS)).ch(32).n(rng.int(1, 2500)).b(L.ms).hex8(rng.next())
          .b(L.ip).n(rng.int(0, 255)).ch(46).n(rng.int(0, 255)).ch(46).n(rng.int(1, 254)).ch(10);
      } else if (k < 14) {
        o.ch(32).b(rng.pick(B_LEVELS)).ch(32).ch(91).b(rng.pick(B_COMPONENTS)).ch(93).ch(32)
          .words(rng, rng.int(4, 14)).b(L.id).n(rng.int(1, 999999)).ch(10);
      } else if (k < 19) {
        o.ch(32).b(rng.pick(B_LEVELS)).ch(32).ch(91).b(rng.pick(B_COMPONENTS)).b(L.event).b(rng.pick(B_EVENTS))
          .b(L.dur).n(rng.int(0, 50000)).b(L.rows).n(rng.int(0, 100000)).b(L.user).n(rng.int(1, 5000)).ch(10);
      } else {
        o.b(L.error).b(rng.pick(B_COMPONENTS)).ch(93).ch(32).ident(rng).b(L.errColon).words(rng, rng.int(3, 9)).ch(10);
        for (let i = rng.int(3, 8); i > 0; i--) {
          o.b(L.at).ident(rng).b(L.atPath).b(rng.pick(W)).ch(47).ident(rng).b(L.js).n(rng.int(1, 900)).ch(58).n(rng.int(1, 80)).ch(41).ch(10);
        }
      }
    }
    return o.result();
  };
}

function jsonGen(rng: Rng, startMs: number): TextGen {
  let id = rng.int(1, 100000);
  const cache = { day: -1, prefix: Buffer.alloc(0) };
  return (approx) => {
    const want = Math.min(approx, CHUNK_BYTES);
    const o = new Out(want + SLACK);
    while (o.pos < want) {
      const score = rng.int(0, 100000);
      o.b(L.jId).n(id++).b(L.jName).words(rng, 2).b(L.jEmail).b(rng.pick(W)).n(rng.int(1, 9999)).b(L.jEx)
        .ts(startMs + rng.int(0, 3e10), cache).b(L.jTags).b(rng.pick(W)).b(L.jTagSep).b(rng.pick(W)).b(L.jScore)
        .n(Math.floor(score / 100)).ch(46).pad(score % 100, 2).b(L.jActive).b(rng.chance(0.8) ? L.jTrue : L.jFalse)
        .b(L.jCity).b(rng.pick(W)).b(L.jZip).n(rng.int(10000, 99999)).b(L.jStreet).n(rng.int(1, 300)).ch(32).words(rng, 2).b(L.jSt);
      if (rng.chance(0.3)) o.ch(34).words(rng, rng.int(3, 20)).ch(34);
      else o.b(L.jNull);
      o.b(L.jEnd);
    }
    return o.result();
  };
}

function sourceGen(rng: Rng): TextGen {
  return (approx) => {
    const want = Math.min(approx, CHUNK_BYTES);
    const o = new Out(want + SLACK);
    while (o.pos < want) {
      o.b(L.cmt).words(rng, rng.int(4, 12)).ch(10);
      o.b(L.fn).ident(rng).ch(40).ident(rng).b(L.colon).b(rng.pick(B_TYPES)).b(L.comma).ident(rng).b(L.colon).b(rng.pick(B_TYPES))
        .b(L.ret).b(rng.pick(B_TYPES)).b(L.open);
      for (let i = rng.int(2, 10); i > 0; i--) {
        switch (rng.next() % 4) {
          case 0: o.b(L.cnst).ident(rng).b(L.eq).ident(rng).ch(40).n(rng.int(0, 4096)).b(L.q).b(rng.pick(W)).b(L.qEnd); break;
          case 1: o.b(L.iff).ident(rng).b(L.gt).n(rng.int(0, 100)).b(L.thenRet).ident(rng).ch(46).b(rng.pick(W)).ch(40).ident(rng).b(L.close1); break;
          case 2: o.b(L.forA).ident(rng).b(L.forB).ident(rng).b(L.plusEq).ident(rng).b(L.idx).n(rng.int(1, 31)).b(L.forEnd); break;
          default: o.b(L.todo).b(rng.pick(W)).b(L.todoB).words(rng, rng.int(3, 10)).ch(10);
        }
      }
      o.b(L.retEnd).ident(rng).b(L.fnEnd);
    }
    return o.result();
  };
}

export function textGen(kind: TextKind, rng: Rng, startMs = Date.UTC(2024, 0, 1)): TextGen {
  if (kind === 'log') return logGen(rng, startMs);
  if (kind === 'json') return jsonGen(rng, startMs);
  return sourceGen(rng);
}

// ---------------------------------------------------------------- writers

/** Writes size bytes of keystream(label) to path; returns the size. */
function writeRandomFile(path: string, size: number, label: string): number {
  const ks = new Keystream(label);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(ZEROS.length, size - done);
      writeSync(fd, ks.bytes(n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/** Text of at least `size` bytes, cut at a line end (so a little more than size). */
function textBytes(gen: TextGen, size: number): Buffer[] {
  const out: Buffer[] = [];
  let done = 0;
  while (done < size) {
    const need = size - done;
    let chunk = gen(need);
    if (chunk.length > need) {
      const nl = chunk.indexOf(10, Math.max(0, need - 1));
      if (nl >= 0) chunk = chunk.subarray(0, nl + 1);
    }
    out.push(chunk);
    done += chunk.length;
  }
  return out;
}

function writeTextFile(path: string, size: number, kind: TextKind, label: string): number {
  const gen = textGen(kind, new Rng(label));
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    if (kind === 'json') written += writeSync(fd, '[\n');
    for (const buf of textBytes(gen, Math.max(1, size - (kind === 'json' ? 32 : 0)))) written += writeSync(fd, buf);
    if (kind === 'json') written += writeSync(fd, '  {"end": true}\n]\n');
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Splits budget into sizes in [lo, hi] (the last one takes the remainder). Scales lo/hi down for small budgets. */
function splitBudget(rng: Rng, budget: number, lo: number, hi: number): number[] {
  if (budget <= 0) return [];
  const l = Math.max(1, Math.min(lo, Math.floor(budget / 8)));
  const h = Math.max(l, Math.min(hi, Math.floor(budget / 2)));
  const sizes: number[] = [];
  let rem = budget;
  while (rem > 0) {
    let s = Math.min(rem, rng.int(l, h));
    if (rem - s < l / 2) s = rem;
    sizes.push(s);
    rem -= s;
  }
  return sizes;
}

const BASE_MTIME_S = Date.UTC(2024, 0, 1) / 1000;

/** A deterministic mtime (seconds, a multiple of 1/64) for an entry of a generated tree. */
function mtimeFor(seed: number, rel: string): number {
  const h = createHash('sha256').update(`${seed}/mtime/${rel}`).digest();
  const ticks = h.readUInt32LE(0) % (300 * 86400 * 64); // within 300 days, 1/64 s resolution
  return BASE_MTIME_S + ticks / 64;
}

function setTimes(abs: string, type: TreeEntry['type'], t: number): void {
  if (type === 'symlink') lutimesSync(abs, t, t);
  else utimesSync(abs, t, t);
}

function mtimeSeconds(abs: string): number {
  const st = lstatSync(abs, { bigint: true });
  return Number(st.mtimeNs / 1_000_000n) / 1000;
}

// ---------------------------------------------------------------- generate

export interface GenerateOptions {
  totalBytes: number;
  seed?: number;
}

export interface GenerateSummary {
  root: string;
  seed: number;
  requestedBytes: number;
  bytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  emptyFiles: number;
  byClass: { text: number; media: number; small: number; dup: number };
  seconds: number;
}

/** Byte shares of the data mix (see the comment at the top). */
export const MIX = { text: 0.35, media: 0.40, small: 0.10, dup: 0.15 } as const;

/** Writes a deterministic mixed tree of about totalBytes into dir (which must be absent or empty). */
export function generateDataset(dir: string, opts: GenerateOptions): GenerateSummary {
  const started = performance.now();
  const seed = opts.seed ?? 1;
  const total = Math.max(0, Math.floor(opts.totalBytes));
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  if (readdirSync(root).length > 0) throw new Error(`generateDataset: ${root} is not empty`);

  const rng = new Rng(`pbk-bench/${seed}/structure`);
  const modes = new Map<string, number>(); // rel -> mode, applied at the end
  const files: { rel: string; size: number }[] = [];
  const byClass = { text: 0, media: 0, small: 0, dup: 0 };
  const label = (rel: string): string => `pbk-bench/${seed}/${rel}`;
  const abs = (rel: string): string => join(root, rel);
  const mkdir = (rel: string, mode = 0o755): void => {
    mkdirSync(abs(rel), { recursive: true });
    modes.set(rel, mode);
  };
  const addFile = (cls: keyof typeof byClass, rel: string, size: number, mode = 0o644): void => {
    files.push({ rel, size });
    byClass[cls] += size;
    modes.set(rel, mode);
  };
  const pad = (n: number, w = 3): string => String(n).padStart(w, '0');

  // text/: logs, json, source-like
  const textBudget = Math.round(total * MIX.text);
  mkdir('text/logs');
  splitBudget(rng, Math.round(textBudget * 0.5), 1 * MiB, 32 * MiB).forEach((size, i) => {
    const rel = `text/logs/${rng.pick(['app', 'api', 'worker', 'db'])}-${pad(i)}.log`;
    addFile('text', rel, writeTextFile(abs(rel), size, 'log', label(rel)));
  });
  mkdir('text/data');
  splitBudget(rng, Math.round(textBudget * 0.25), 256 * KiB, 8 * MiB).forEach((size, i) => {
    const rel = `text/data/${rng.pick(WORDS)}-${pad(i)}.json`;
    addFile('text', rel, writeTextFile(abs(rel), size, 'json', label(rel)), rng.chance(0.2) ? 0o600 : 0o644);
  });
  mkdir('text/src');
  splitBudget(rng, textBudget - byClass.text, 4 * KiB, 200 * KiB).forEach((size, i) => {
    const sub = `text/src/${rng.pick(WORDS)}/${rng.pick(['lib', 'cmd', 'internal', 'test'])}`;
    mkdir(sub);
    const script = rng.chance(0.05);
    const rel = `${sub}/${ident(rng)}-${pad(i, 4)}.${script ? 'sh' : 'ts'}`;
    addFile('text', rel, writeTextFile(abs(rel), size, 'source', label(rel)), script ? 0o755 : 0o644);
  });
  mkdir('text/private', 0o700);
  {
    const rel = 'text/private/notes.txt';
    addFile('text', rel, writeTextFile(abs(rel), 8 * KiB, 'log', label(rel)), 0o600);
  }

  // media/: photos (20 %) and a few large videos (80 %)
  const mediaBudget = Math.round(total * MIX.media);
  mkdir('media/photos');
  splitBudget(rng, Math.round(mediaBudget * 0.2), 1 * MiB, 8 * MiB).forEach((size, i) => {
    const rel = `media/photos/IMG_${pad(i + 1000, 4)}.jpg`;
    addFile('media', rel, writeRandomFile(abs(rel), size, label(rel)));
  });
  mkdir('media/video');
  splitBudget(rng, mediaBudget - byClass.media, 20 * MiB, 100 * MiB).forEach((size, i) => {
    const rel = `media/video/${rng.pick(WORDS)}-${pad(i, 2)}.mkv`;
    addFile('media', rel, writeRandomFile(abs(rel), size, label(rel)));
  });

  // small/: thousands of 1-16 KiB files in nested dirs, about 40 per leaf dir
  const smallBudget = Math.round(total * MIX.small);
  {
    let i = 0;
    let leaf = '';
    for (let rem = smallBudget; rem > 0; i++) {
      if (i % 40 === 0) {
        leaf = `small/d${pad(Math.floor(i / 400), 2)}/d${pad(Math.floor(i / 40) % 10, 2)}`;
        mkdir(leaf);
      }
      const size = Math.min(rem, rng.int(1 * KiB, 16 * KiB));
      rem -= size;
      const text = rng.chance(0.6);
      const rel = `${leaf}/f${pad(i, 5)}.${text ? rng.pick(['conf', 'json', 'txt', 'md']) : 'png'}`;
      const mode = rng.chance(0.05) ? 0o600 : rng.chance(0.03) ? 0o755 : 0o644;
      if (text) {
        const buf = Buffer.concat(textBytes(textGen(rng.pick(['log', 'json', 'source'] as const), new Rng(label(rel))), size)).subarray(0, size);
        writeFileSync(abs(rel), buf);
      } else {
        writeFileSync(abs(rel), new Keystream(label(rel)).bytes(size));
      }
      addFile('small', rel, size, mode);
    }
    mkdir('small/.cache'); // empty dir
  }

  // dup/: half copies of files from elsewhere, half units written 2-4 times
  const dupBudget = Math.round(total * MIX.dup);
  {
    const candidates = files.slice();
    let rem = Math.round(dupBudget * 0.5);
    for (let tries = 0; rem > 0 && tries < 10_000; tries++) {
      const src = rng.pick(candidates);
      if (src.size > rem && src.size > 1 * MiB) continue;
      const rel = `dup/backup-2024/${src.rel}`;
      mkdir(dirname(rel));
      copyFileSync(abs(src.rel), abs(rel));
      addFile('dup', rel, src.size, modes.get(src.rel) ?? 0o644);
      rem -= src.size;
    }
    let u = 0;
    while (byClass.dup < dupBudget) {
      const copies = rng.int(2, 4);
      const size = Math.max(1, Math.min(Math.ceil((dupBudget - byClass.dup) / copies), rng.int(64 * KiB, 4 * MiB)));
      const text = rng.chance(0.4);
      const name = text ? `notes-${pad(u)}.txt` : `pkg-${pad(u)}.tar`;
      const first = `dup/release-1/${name}`;
      mkdir('dup/release-1');
      const written = text ? writeTextFile(abs(first), size, 'log', label(first)) : writeRandomFile(abs(first), size, label(first));
      addFile('dup', first, written);
      for (let c = 2; c <= copies; c++) {
        const rel = `dup/release-${c}/${name}`;
        mkdir(`dup/release-${c}`);
        copyFileSync(abs(first), abs(rel));
        addFile('dup', rel, written);
      }
      u++;
    }
  }

  // empty files and dirs, symlinks
  let emptyFiles = 0;
  mkdir('empty/dir-a');
  mkdir('empty/nested/b/c');
  for (const rel of ['empty/empty-file', 'text/logs/.keep']) {
    writeFileSync(abs(rel), '');
    modes.set(rel, 0o644);
    files.push({ rel, size: 0 });
    emptyFiles++;
  }
  mkdir('links');
  const firstLog = files.find((f) => f.rel.startsWith('text/logs/') && f.size > 0);
  symlinkSync(firstLog ? `../${firstLog.rel}` : '../empty/empty-file', abs('links/current.log'));
  symlinkSync('../media/photos', abs('links/photos'));

  // modes and times, explicitly (independent of the umask)
  for (const [rel, mode] of modes) chmodSync(abs(rel), mode);
  const entries = walkSync(root);
  for (const e of entries) setTimes(abs(e.rel), e.type, mtimeFor(seed, e.rel));
  utimesSync(root, mtimeFor(seed, '.'), mtimeFor(seed, '.'));

  let dirs = 0, symlinks = 0, bytes = 0, nfiles = 0;
  for (const e of entries) {
    if (e.type === 'dir') dirs++;
    else if (e.type === 'symlink') symlinks++;
    else if (e.type === 'file') { nfiles++; bytes += e.size; }
  }
  return {
    root, seed, requestedBytes: total, bytes, files: nfiles, dirs, symlinks, emptyFiles, byClass,
    seconds: (performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------- mutate

/**
 * The data a benchmark runs on: the user's --data DIR (resolved to its real path, never
 * modified), or a dataset generated into WORK/data. Shared by the storage and files benches.
 */
export function prepareDataset(opts: { data?: string; generate: number; seed: number; work: string; log: (msg: string) => void }): {
  dataDir: string;
  generated: boolean;
  generateSeconds?: number;
} {
  if (opts.data !== undefined) {
    if (!existsSync(opts.data)) throw new Error(`--data ${opts.data} does not exist`);
    return { dataDir: realpathSync(opts.data), generated: false }; // the agent never follows a symlinked path
  }
  const dataDir = join(opts.work, 'data');
  opts.log(`generating ${formatBytes(opts.generate)} (seed ${opts.seed}) in ${dataDir}`);
  const g = generateDataset(dataDir, { totalBytes: opts.generate, seed: opts.seed });
  opts.log(`generated ${formatBytes(g.bytes)} in ${g.files} files in ${g.seconds.toFixed(1)} s`);
  return { dataDir, generated: true, generateSeconds: Number(g.seconds.toFixed(3)) };
}

export interface MutateOptions {
  /** Share of the tree's bytes to change (default 0.05). */
  fraction?: number;
  seed?: number;
}

export interface MutateSummary {
  root: string;
  seed: number;
  fraction: number;
  bytesBefore: number;
  bytesAfter: number;
  /** New content written: overwritten + inserted + appended + added. */
  bytesWritten: number;
  bytesDeleted: number;
  /** bytesWritten + bytesDeleted; about fraction x bytesBefore. */
  bytesChanged: number;
  overwritten: number;
  inserted: number;
  appended: number;
  added: number;
  filesModified: number;
  filesAdded: number;
  filesDeleted: number;
  seconds: number;
}

/** Shares of the mutation budget per kind of change. */
export const MUTATION_SHARES = { overwrite: 0.35, insert: 0.10, append: 0.25, add: 0.20, delete: 0.10 } as const;

const TEXT_EXT = /\.(log|json|ts|js|txt|md|conf|sh|csv|go|py|sql)$/;

/** Deterministically changes about fraction of the bytes of the tree at dir (same tree + seed -> same result). */
export function mutateDataset(dir: string, opts: MutateOptions = {}): MutateSummary {
  const started = performance.now();
  const seed = opts.seed ?? 1;
  const fraction = opts.fraction ?? 0.05;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`mutateDataset: fraction must be in (0, 1), got ${fraction}`);
  const root = resolve(dir);
  const entries = walkSync(root);
  const files = entries.filter((e) => e.type === 'file');
  const fileSet = new Set(files.map((f) => f.rel));
  // mtimes before any change, so the new ones are derived from the tree, not from the clock
  const mtimesBefore = new Map<string, number>([['.', mtimeSeconds(root)]]);
  for (const e of entries) mtimesBefore.set(e.rel, mtimeSeconds(join(root, e.rel)));
  const bytesBefore = files.reduce((s, f) => s + f.size, 0);
  const budget = Math.round(bytesBefore * fraction);
  const rng = new Rng(`pbk-bench/${seed}/mutate/${fraction}`);
  const label = (what: string, rel: string, n = 0): string => `pbk-bench/${seed}/mutate/${what}/${rel}/${n}`;
  const abs = (rel: string): string => join(root, rel);
  const touchedFiles = new Set<string>();
  const touchedDirs = new Set<string>();
  const s = { overwritten: 0, inserted: 0, appended: 0, added: 0, deleted: 0, filesAdded: 0, filesDeleted: 0 };

  // 1. overwrite ranges in the middle of large files
  const large = files.filter((f) => f.size >= 256 * KiB && !TEXT_EXT.test(f.rel));
  const overwriteBudget = Math.round(budget * MUTATION_SHARES.overwrite);
  for (let guard = 0; large.length > 0 && s.overwritten < overwriteBudget && guard < 10_000; guard++) {
    const f = rng.pick(large);
    const len = Math.max(1, Math.min(overwriteBudget - s.overwritten, rng.int(256 * KiB, 4 * MiB), Math.floor(f.size / 4)));
    const off = Math.max(0, Math.floor(f.size / 2) - rng.int(0, Math.floor(f.size / 4)));
    const fd = openSync(abs(f.rel), 'r+');
    try {
      const ks = new Keystream(label('overwrite', f.rel, guard));
      for (let done = 0; done < len;) {
        const n = Math.min(4 * MiB, len - done);
        writeSync(fd, ks.bytes(n), 0, n, off + done);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    s.overwritten += len;
    touchedFiles.add(f.rel);
  }

  // 2. insert text near the start of text files (shifts everything after it)
  const texts = files.filter((f) => f.size >= 64 * KiB && TEXT_EXT.test(f.rel));
  const insertBudget = Math.round(budget * MUTATION_SHARES.insert);
  for (let guard = 0; texts.length > 0 && s.inserted < insertBudget && guard < 10_000; guard++) {
    const f = rng.pick(texts);
    const len = Math.max(1, Math.min(insertBudget - s.inserted, rng.int(1 * KiB, 64 * KiB)));
    const ins = Buffer.concat(textBytes(textGen('log', new Rng(label('insert', f.rel, guard))), len)).subarray(0, len);
    const old = readFileSync(abs(f.rel));
    const at = Math.min(old.length, rng.int(100, 4096));
    writeFileSync(abs(f.rel), Buffer.concat([old.subarray(0, at), ins, old.subarray(at)]));
    f.size += len;
    s.inserted += len;
    touchedFiles.add(f.rel);
  }

  // 3. append to logs
  const logs = files.filter((f) => f.rel.endsWith('.log') && f.size > 0);
  const appendBudget = Math.round(budget * MUTATION_SHARES.append);
  for (let guard = 0; logs.length > 0 && s.appended < appendBudget && guard < 10_000; guard++) {
    const f = rng.pick(logs);
    const len = Math.max(1, Math.min(appendBudget - s.appended, rng.int(64 * KiB, 2 * MiB)));
    const add = Buffer.concat(textBytes(textGen('log', new Rng(label('append', f.rel, guard)), Date.UTC(2025, 0, 1)), len)).subarray(0, len);
    appendFileSync(abs(f.rel), add);
    f.size += len;
    s.appended += len;
    touchedFiles.add(f.rel);
  }

  // 4. delete a few files (at most 30, none of those already changed)
  const deleteBudget = Math.round(budget * MUTATION_SHARES.delete);
  const deletable = files.filter((f) => !touchedFiles.has(f.rel) && f.size > 0 && f.size <= deleteBudget / 2);
  for (let guard = 0; deletable.length > 0 && s.deleted < deleteBudget && s.filesDeleted < 30 && guard < 10_000; guard++) {
    const idx = rng.int(0, deletable.length - 1);
    const f = deletable[idx]!;
    deletable.splice(idx, 1);
    if (s.deleted + f.size > deleteBudget * 1.2) continue;
    unlinkSync(abs(f.rel));
    s.deleted += f.size;
    s.filesDeleted++;
    touchedDirs.add(f.rel.includes('/') ? dirname(f.rel) : '.');
  }

  // 5. add new files with the rest of the budget: a new directory plus a few files in existing dirs
  const dirsList = entries.filter((e) => e.type === 'dir').map((e) => e.rel);
  const addBudget = budget - s.overwritten - s.inserted - s.appended - s.deleted;
  const maxNew = Math.max(4 * KiB, Math.min(8 * MiB, Math.floor(addBudget / 4)));
  const newDir = `new-${seed}-${Math.round(fraction * 1000)}`;
  for (let i = 0; s.added < addBudget; i++) {
    const inExisting = dirsList.length > 0 && i % 4 === 3;
    const parent = inExisting ? rng.pick(dirsList) : newDir;
    mkdirSync(abs(parent), { recursive: true });
    const text = rng.chance(0.5);
    const rel = `${parent}/added-${seed}-${i}.${text ? 'log' : 'bin'}`;
    const size = Math.max(1, Math.min(addBudget - s.added, rng.int(4 * KiB, maxNew)));
    const written = text ? writeTextFile(abs(rel), size, 'log', label('add', rel)) : writeRandomFile(abs(rel), size, label('add', rel));
    chmodSync(abs(rel), 0o644);
    s.added += written;
    s.filesAdded++;
    touchedFiles.add(rel);
    touchedDirs.add(parent);
    if (!inExisting) touchedDirs.add('.');
  }

  // mtimes: later than before, deterministic
  const bump = (rel: string, type: TreeEntry['type']): void => {
    const p = rel === '.' ? root : abs(rel);
    const before = mtimesBefore.get(rel) ?? BASE_MTIME_S + 400 * 86400; // new entries: a fixed base
    const t = Math.floor(before) + rng.int(3600, 30 * 86400) + rng.int(0, 63) / 64;
    setTimes(p, type, t);
  };
  for (const rel of [...touchedFiles].sort()) bump(rel, 'file');
  for (const rel of [...touchedDirs].sort()) bump(rel, 'dir');

  const bytesWritten = s.overwritten + s.inserted + s.appended + s.added;
  const bytesAfter = walkSync(root).reduce((sum, e) => sum + e.size, 0);
  return {
    root, seed, fraction, bytesBefore, bytesAfter, bytesWritten, bytesDeleted: s.deleted,
    bytesChanged: bytesWritten + s.deleted,
    overwritten: s.overwritten, inserted: s.inserted, appended: s.appended, added: s.added,
    filesModified: [...touchedFiles].filter((r) => fileSet.has(r)).length,
    filesAdded: s.filesAdded, filesDeleted: s.filesDeleted,
    seconds: (performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------- CLI

const USAGE = `usage:
  node bench/dist/gen-data.js --out DIR --size 1GiB [--seed N]
  node bench/dist/gen-data.js --mutate DIR [--fraction 0.05] [--seed N]
Prints a JSON summary on stdout.`;

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') { console.log(USAGE); return; }
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`unexpected argument '${a}'\n${USAGE}`);
    args.set(a.slice(2), argv[++i]!);
  }
  const seed = args.has('seed') ? Number(args.get('seed')) : 1;
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer`);
  let summary: GenerateSummary | MutateSummary;
  if (args.has('out')) {
    summary = generateDataset(args.get('out')!, { totalBytes: parseSize(args.get('size') ?? '1GiB'), seed });
    process.stderr.write(`generated ${formatBytes(summary.bytes)} in ${summary.files} files in ${summary.seconds.toFixed(1)} s\n`);
  } else if (args.has('mutate')) {
    summary = mutateDataset(args.get('mutate')!, { fraction: Number(args.get('fraction') ?? '0.05'), seed });
    process.stderr.write(`changed ${formatBytes(summary.bytesChanged)} of ${formatBytes(summary.bytesBefore)} in ${summary.seconds.toFixed(1)} s\n`);
  } else {
    throw new Error(USAGE);
  }
  console.log(JSON.stringify(summary));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  }
}
