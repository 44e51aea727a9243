import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  Chunker,
  ChunkerOptionsError,
  FixedChunker,
  DEFAULT_CHUNKER_OPTIONS,
  chunkStream,
  cutMask,
  cutPoints,
  gearTable,
  validateChunkerOptions,
  type ChunkerOptions,
} from '../src/chunker/index.js';
import { StorageError } from '../src/errors.js';

const SMALL: ChunkerOptions = { minSize: 2048, avgSize: 8192, maxSize: 65536 };
const TINY: ChunkerOptions = { minSize: 64, avgSize: 256, maxSize: 1024 };
const SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

/** Reproducible pseudo-random bytes: SHA-256("pbk-chunker-test" || uint32_be(k)), k = 0, 1, ... */
function testData(n: number): Buffer {
  const out = Buffer.alloc(n);
  const counter = Buffer.alloc(4);
  for (let k = 0; k * 32 < n; k++) {
    counter.writeUInt32BE(k);
    createHash('sha256').update('pbk-chunker-test').update(counter).digest().copy(out, k * 32);
  }
  return out;
}

/** Seeded PRNG (xorshift32) so split sizes are reproducible when a test fails. */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/**
 * The cut rule as the format document states it, written for clarity: one
 * rolling hash over the whole stream, never reset, so this also checks that a
 * cut depends only on the last 32 bytes and the chunk length.
 */
function referenceCuts(data: Buffer, o: ChunkerOptions): number[] {
  const g = gearTable(o.gearSeed);
  const bits = Math.log2(o.avgSize);
  const maskS = cutMask(bits + 2);
  const maskL = cutMask(bits - 2);
  const cuts: number[] = [];
  let h = 0;
  let len = 0;
  for (let i = 0; i < data.length; i++) {
    h = ((h << 1) + g[data[i]!]!) >>> 0;
    len++;
    const mask = len < o.avgSize ? maskS : maskL;
    if (len === o.maxSize || (len >= o.minSize && (h & mask) >>> 0 === 0)) {
      cuts.push(i + 1);
      len = 0;
    }
  }
  if (len > 0) cuts.push(data.length);
  return cuts;
}

function lengths(cuts: number[]): number[] {
  return cuts.map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!));
}

/** Pushes `data` in pieces of the given sizes (copies, as a stream would hand over fresh buffers). */
function chunkInPieces(data: Buffer, o: ChunkerOptions, nextSize: () => number): Buffer[] {
  const c = new Chunker(o);
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; ) {
    const n = Math.min(nextSize(), data.length - off);
    out.push(...c.push(Buffer.from(data.subarray(off, off + n))));
    off += n;
  }
  const last = c.finish();
  if (last) out.push(last);
  return out;
}

function expectInvalid(o: unknown, option: string): void {
  let caught: unknown;
  try {
    validateChunkerOptions(o as ChunkerOptions);
  } catch (err) {
    caught = err;
  }
  expect(caught, JSON.stringify(o)).toBeInstanceOf(ChunkerOptionsError);
  expect(caught).toBeInstanceOf(StorageError);
  expect((caught as StorageError).code).toBe('INVALID_ARGUMENT');
  expect((caught as ChunkerOptionsError).option).toBe(option);
}

describe('gear table and masks (format constants)', () => {
  it('derives the public table from SHA-256 counter mode over "pbk-gear-v1"', () => {
    const g = gearTable();
    // Cross-checked with Python's hashlib; a change here breaks dedup against existing repositories.
    expect(Array.from(g.subarray(0, 4))).toEqual([0xcd45721b, 0xabacbde1, 0x97bec72b, 0xfb6b4ff6]);
    expect(Array.from(g.subarray(252))).toEqual([0x016692e3, 0x690e8965, 0xc9f8be03, 0xc63012cb]);
    const be = Buffer.alloc(1024);
    g.forEach((v, i) => be.writeUInt32BE(v, 4 * i));
    expect(createHash('sha256').update(be).digest('hex')).toBe('201f0420847e7ecd0e027464c3d6d780879fd6948dbe0ad8a9c2c828900d552d');
  });

  it('derives a secret table from HMAC-SHA-256(gearSeed, counter)', () => {
    const g = gearTable(SEED);
    expect(Array.from(g.subarray(0, 4))).toEqual([0xa86acbcb, 0xc29b8fa8, 0x3c83582d, 0x56a892d0]);
    expect(Array.from(gearTable(new Uint8Array(SEED)))).toEqual(Array.from(g));
    expect(Array.from(gearTable(randomBytes(32)))).not.toEqual(Array.from(g));
  });

  it('caches the table per seed without serving a stale one for a seed changed in place', () => {
    const data = testData(1 << 18);
    const seed = Buffer.from(SEED);
    const first = cutPoints(data, { ...SMALL, gearSeed: seed });
    expect(cutPoints(data, { ...SMALL, gearSeed: seed })).toEqual(first);
    seed[0]! ^= 0xff;
    expect(cutPoints(data, { ...SMALL, gearSeed: seed })).toEqual(cutPoints(data, { ...SMALL, gearSeed: Buffer.from(seed) }));
    expect(cutPoints(data, { ...SMALL, gearSeed: seed })).not.toEqual(first);
  });

  it('spreads mask bits over the top of the word', () => {
    expect(cutMask(11)).toBe(0xaaa55400);
    expect(cutMask(15)).toBe(0xdadada00);
    expect(cutMask(18)).toBe(0xeeeeee00);
    expect(cutMask(22)).toBe(0xffeffe00);
    expect(cutMask(24)).toBe(0xffffff00);
    expect(cutMask(25)).toBe(0xffffff80);
    for (let bits = 1; bits <= 32; bits++) {
      const m = cutMask(bits);
      expect(m.toString(2).replace(/0/g, '').length).toBe(bits);
      expect(m >>> 31).toBe(1);
      if (bits <= 24) expect(m & 0xff).toBe(0);
    }
  });

  it('matches recorded cut points (test vectors for other implementations)', () => {
    const data = testData(1 << 20);
    const a = cutPoints(data, SMALL);
    expect(a.length).toBe(109);
    expect(a.slice(0, 6)).toEqual([9315, 18927, 23542, 33692, 44866, 55058]);
    const b = cutPoints(data, { ...SMALL, gearSeed: SEED });
    expect(b.length).toBe(109);
    expect(b.slice(0, 6)).toEqual([8209, 16570, 24838, 33099, 36537, 44894]);
  });
});

describe('validateChunkerOptions', () => {
  it('accepts the defaults and min/max that are not powers of two', () => {
    expect(DEFAULT_CHUNKER_OPTIONS).toMatchObject({ minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 });
    validateChunkerOptions(DEFAULT_CHUNKER_OPTIONS);
    validateChunkerOptions({ minSize: 64, avgSize: 128, maxSize: 129 });
    validateChunkerOptions({ minSize: 3000, avgSize: 8192, maxSize: 50_000, gearSeed: SEED });
  });

  it('rejects bad options with a typed INVALID_ARGUMENT error naming the field', () => {
    expectInvalid(undefined, 'options');
    expectInvalid({ minSize: 63, avgSize: 256, maxSize: 1024 }, 'minSize');
    expectInvalid({ minSize: 0, avgSize: 256, maxSize: 1024 }, 'minSize');
    expectInvalid({ minSize: 100.5, avgSize: 256, maxSize: 1024 }, 'minSize');
    expectInvalid({ minSize: 100, avgSize: 300, maxSize: 1024 }, 'avgSize');
    expectInvalid({ minSize: 100, avgSize: Number.NaN, maxSize: 1024 }, 'avgSize');
    expectInvalid({ minSize: 256, avgSize: 256, maxSize: 1024 }, 'avgSize');
    expectInvalid({ minSize: 512, avgSize: 256, maxSize: 1024 }, 'avgSize');
    expectInvalid({ minSize: 100, avgSize: 256, maxSize: 256 }, 'maxSize');
    expectInvalid({ minSize: 100, avgSize: 256, maxSize: '1024' }, 'maxSize');
    expectInvalid({ minSize: 100, avgSize: 2 ** 30, maxSize: 2 ** 31 }, 'maxSize');
    expectInvalid({ ...TINY, gearSeed: Buffer.alloc(8) }, 'gearSeed');
    expectInvalid({ ...TINY, gearSeed: 'secret' }, 'gearSeed');
    expect(() => new Chunker({ minSize: 100, avgSize: 300, maxSize: 1024 })).toThrow(ChunkerOptionsError);
    expect(() => cutPoints(Buffer.alloc(1), { minSize: 10, avgSize: 256, maxSize: 1024 })).toThrow(ChunkerOptionsError);
  });
});

describe('cut rule', () => {
  it('agrees with a byte-by-byte reference on random and low-entropy data', () => {
    const random = testData(3 << 20);
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `row ${i % 977},name-${(i * 7919) % 100},ok\n`).join(''));
    const sparse = Buffer.alloc(1 << 20);
    for (let i = 0; i < sparse.length; i += 4099) sparse[i] = i & 0xff;
    for (const data of [random, text, sparse]) {
      for (const o of [SMALL, { ...SMALL, gearSeed: SEED }, TINY, { minSize: 1000, avgSize: 4096, maxSize: 5000 }]) {
        expect(cutPoints(data, o)).toEqual(referenceCuts(data, o));
      }
    }
  });

  it('gives the same chunks however the input is split', () => {
    const data = testData(4 << 20);
    const expected = lengths(cutPoints(data, SMALL));
    const rnd = prng(42);
    for (const nextSize of [() => 1 + rnd(5000), () => 1 + rnd(200_000), () => 65536, () => 4093]) {
      const chunks = chunkInPieces(data, SMALL, nextSize);
      expect(chunks.map((c) => c.length)).toEqual(expected);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
    }
    const big = randomBytes(24 << 20);
    const expectedBig = lengths(cutPoints(big));
    expect(expectedBig.length).toBeGreaterThan(10);
    for (const nextSize of [() => 4 << 20, () => 1 + rnd(3 << 20)]) {
      expect(chunkInPieces(big, DEFAULT_CHUNKER_OPTIONS, nextSize).map((c) => c.length)).toEqual(expectedBig);
    }
  });

  it('gives the same chunks with 1-byte pushes on a small config', () => {
    const data = testData(96 * 1024);
    for (const o of [TINY, { ...TINY, gearSeed: SEED }]) {
      const expected = lengths(cutPoints(data, o));
      const chunks = chunkInPieces(data, o, () => 1);
      expect(chunks.map((c) => c.length)).toEqual(expected);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      // Mixed tiny and large pieces exercise the small-piece copy path next to views.
      const rnd = prng(7);
      const mixed = chunkInPieces(data, o, () => (rnd(3) === 0 ? 5000 + rnd(3000) : 1 + rnd(3)));
      expect(mixed.map((c) => c.length)).toEqual(expected);
      expect(Buffer.concat(mixed).equals(data)).toBe(true);
    }
  });

  it('gives the same chunks when many small pushes fill the copy buffer', () => {
    // Chunks of 100 KB+ made of sub-4 KiB pushes overflow the 64 KiB block small pieces are copied into.
    const o: ChunkerOptions = { minSize: 100_000, avgSize: 131072, maxSize: 400_000 };
    const data = testData(3 << 20);
    const expected = lengths(cutPoints(data, o));
    const rnd = prng(11);
    const chunks = chunkInPieces(data, o, () => (rnd(8) === 0 ? 4096 : 1 + rnd(4000)));
    expect(chunks.map((c) => c.length)).toEqual(expected);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('keeps every chunk but the last within [minSize, maxSize] and averages near avgSize', () => {
    const data = randomBytes(8 << 20);
    const sizes = lengths(cutPoints(data, SMALL));
    for (const s of sizes.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(SMALL.minSize);
      expect(s).toBeLessThanOrEqual(SMALL.maxSize);
    }
    const avg = data.length / sizes.length;
    // Normalized chunking on 2K/8K/64K averages about 9.3 KiB on random data.
    expect(avg).toBeGreaterThan(SMALL.avgSize * 0.75);
    expect(avg).toBeLessThan(SMALL.avgSize * 1.25);
  });

  it('changes only the chunks near an edit', () => {
    const o: ChunkerOptions = { minSize: 4096, avgSize: 16384, maxSize: 131072 };
    const data = randomBytes(64 << 20);
    const hashes = (buf: Buffer): Set<string> => {
      const out = new Set<string>();
      let start = 0;
      for (const cut of cutPoints(buf, o)) {
        out.add(createHash('sha1').update(buf.subarray(start, cut)).digest('hex'));
        start = cut;
      }
      return out;
    };
    const before = hashes(data);
    const inserted = Buffer.concat([data.subarray(0, 1000), Buffer.from('xyz'), data.subarray(1000)]);
    const deleted = Buffer.concat([data.subarray(0, 50_000), data.subarray(50_005)]);
    for (const edited of [inserted, deleted]) {
      const after = hashes(edited);
      let shared = 0;
      for (const h of after) if (before.has(h)) shared++;
      expect(shared / before.size).toBeGreaterThan(0.9);
      // In practice only the one or two chunks around the edit differ.
      expect(before.size - shared).toBeLessThan(5);
    }
  });
});

describe('Chunker', () => {
  it('handles empty input and input shorter than minSize', () => {
    expect(cutPoints(Buffer.alloc(0))).toEqual([]);
    const c = new Chunker(SMALL);
    expect(c.push(Buffer.alloc(0))).toEqual([]);
    expect(c.finish()).toBeUndefined();
    const small = randomBytes(100);
    expect(c.push(small)).toEqual([]);
    const last = c.finish();
    expect(last?.equals(small)).toBe(true);
    expect(cutPoints(small, SMALL)).toEqual([100]);
    expect(c.finish()).toBeUndefined();
    // The returned tail must not share memory the chunker writes to later.
    c.push(Buffer.alloc(100, 0xee));
    expect(last?.equals(small)).toBe(true);
  });

  it('forces cuts at maxSize on constant bytes', () => {
    const g = gearTable();
    // After 32 equal bytes b the hash is constant: sum of G[b] << j for j < 32 = -G[b] mod 2^32.
    const steady = (b: number): number => -g[b]! >>> 0;
    const bits = Math.log2(DEFAULT_CHUNKER_OPTIONS.avgSize);
    expect(steady(0) & cutMask(bits + 2)).not.toBe(0);
    expect(steady(0) & cutMask(bits - 2)).not.toBe(0);
    const max = DEFAULT_CHUNKER_OPTIONS.maxSize;
    expect(cutPoints(Buffer.alloc(max))).toEqual([max]);
    expect(cutPoints(Buffer.alloc(max + 1))).toEqual([max, max + 1]);
    const c = new Chunker();
    const zeros = Buffer.alloc(3 * max + 5);
    const chunks = [...c.push(zeros.subarray(0, max - 1)), ...c.push(zeros.subarray(max - 1))];
    expect(chunks.map((x) => x.length)).toEqual([max, max, max]);
    expect(c.finish()?.length).toBe(5);

    // A byte whose steady hash passes only the looser mask cuts at every avgSize instead.
    const tinyBits = Math.log2(TINY.avgSize);
    const passes = (b: number, bits: number): boolean => (steady(b) & cutMask(bits)) === 0;
    const cutter = Array.from({ length: 256 }, (_, b) => b).find((b) => passes(b, tinyBits - 2) && !passes(b, tinyBits + 2));
    expect(cutter).toBeDefined();
    const run = Buffer.alloc(10 * TINY.avgSize + 3, cutter);
    expect(lengths(cutPoints(run, TINY))).toEqual([...Array<number>(10).fill(TINY.avgSize), 3]);
  });

  it('returns views of the pushed buffer and copies only chunks that span pushes', () => {
    const data = testData(1 << 20);
    const c = new Chunker(SMALL);
    const first = data.subarray(0, 500_000);
    const second = data.subarray(500_000);
    const a = c.push(first);
    const b = c.push(second);
    expect(a.length).toBeGreaterThan(10);
    for (const chunk of a) expect(chunk.buffer).toBe(data.buffer);
    expect(b[0]!.buffer).not.toBe(data.buffer); // spans the two pushes
    for (const chunk of b.slice(1)) expect(chunk.buffer).toBe(data.buffer);
    expect(Buffer.concat([...a, ...b, c.finish() ?? Buffer.alloc(0)]).equals(data)).toBe(true);
  });

  it('accepts plain Uint8Arrays and a Uint8Array seed (as a worker thread receives them)', () => {
    const data = testData(200_000);
    const expected = cutPoints(data, { ...SMALL, gearSeed: SEED });
    const c = new Chunker({ ...SMALL, gearSeed: new Uint8Array(SEED) as Buffer });
    const chunks = [...c.push(new Uint8Array(data.buffer, data.byteOffset, data.length)), c.finish()!];
    expect(chunks.every((x) => Buffer.isBuffer(x))).toBe(true);
    expect(lengths(expected)).toEqual(chunks.map((x) => x.length));
  });

  it('starts afresh after finish()', () => {
    const data = testData(300_000);
    const c = new Chunker(SMALL);
    const run = (): number[] => [...c.push(data.subarray(0, 123_457)), ...c.push(data.subarray(123_457)), c.finish()!].map((x) => x.length);
    const once = run();
    c.push(randomBytes(5000)); // an abandoned partial stream
    c.finish();
    expect(run()).toEqual(once);
    expect(once).toEqual(lengths(cutPoints(data, SMALL)));
  });

  it('cuts differently with a different gear seed', () => {
    const data = testData(1 << 20);
    const plain = cutPoints(data, SMALL);
    const seeded = cutPoints(data, { ...SMALL, gearSeed: SEED });
    expect(seeded).not.toEqual(plain);
    expect(cutPoints(data, { ...SMALL, gearSeed: Buffer.from(SEED) })).toEqual(seeded);
  });
});

describe('chunkStream', () => {
  it('yields the same chunks as cutPoints from a Readable', async () => {
    const data = testData(2 << 20);
    const rnd = prng(3);
    const pieces: Buffer[] = [];
    for (let off = 0; off < data.length; ) {
      const n = 1 + rnd(100_000);
      pieces.push(Buffer.from(data.subarray(off, off + n)));
      off += n;
    }
    const sizes: number[] = [];
    for await (const chunk of chunkStream(Readable.from(pieces), SMALL)) sizes.push(chunk.length);
    expect(sizes).toEqual(lengths(cutPoints(data, SMALL)));
  });

  it('yields nothing for an empty stream', async () => {
    const out: Buffer[] = [];
    for await (const chunk of chunkStream(Readable.from([]))) out.push(chunk);
    expect(out).toEqual([]);
  });

  it('rejects string pieces (a stream with an encoding set)', async () => {
    const consume = async (): Promise<void> => {
      for await (const _ of chunkStream(Readable.from(['text']), SMALL)) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('FixedChunker', () => {
  const MIB = 1024 * 1024;

  it('is needed: the content-defined options refuse min = avg = max', () => {
    expectInvalid({ minSize: MIB, avgSize: MIB, maxSize: MIB }, 'avgSize');
  });

  it('cuts exactly every `size` bytes however the input is split, and returns the short tail on finish', () => {
    const data = randomBytes(3 * MIB + 12345);
    for (const piece of [1 << 20, 65536, 1000, 3 * MIB + 12345, 777_777]) {
      const c = new FixedChunker(MIB);
      const chunks: Buffer[] = [];
      for (let at = 0; at < data.length; at += piece) chunks.push(...c.push(Buffer.from(data.subarray(at, at + piece))));
      const last = c.finish();
      if (last) chunks.push(last);
      expect(chunks.map((b) => b.length), `pieces of ${piece}`).toEqual([MIB, MIB, MIB, 12345]);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(c.finish()).toBeUndefined();
    }
  });

  it('gives a view when a whole chunk lies in one pushed piece, and nothing for empty input', () => {
    const c = new FixedChunker(4096);
    const piece = randomBytes(8192);
    const [a, b] = c.push(piece);
    expect(a!.buffer).toBe(piece.buffer);
    expect(b!.byteOffset - a!.byteOffset).toBe(4096);
    expect(c.push(new Uint8Array(0))).toEqual([]);
    expect(c.finish()).toBeUndefined();
  });

  it('hands each chunk out as the views of the pieces it spans, cut where push() cuts', () => {
    const data = randomBytes(3 * MIB + 12345);
    for (const piece of [65536, 1000, 3 * MIB + 12345, 777_777]) {
      const c = new FixedChunker(MIB);
      const pieces: Buffer[] = [];
      const chunks: Buffer[][] = [];
      for (let at = 0; at < data.length; at += piece) {
        const p = Buffer.from(data.subarray(at, at + piece));
        pieces.push(p);
        chunks.push(...c.pushParts(p));
      }
      chunks.push(c.finishParts()!);
      expect(c.finishParts()).toBeUndefined();
      expect(chunks.map((parts) => parts.reduce((n, b) => n + b.length, 0)), `pieces of ${piece}`).toEqual([MIB, MIB, MIB, 12345]);
      expect(Buffer.concat(chunks.flat()).equals(data)).toBe(true);
      // Views, never copies: every part lies in one of the pushed pieces' memory.
      const memory = new Set(pieces.map((p) => p.buffer));
      expect(chunks.flat().every((b) => memory.has(b.buffer))).toBe(true);
    }
    // Pieces of 64 KiB: whole pieces are handed out as they are (a 1 MiB chunk is 16 of them).
    const c = new FixedChunker(MIB);
    const aligned = Array.from({ length: 16 }, () => randomBytes(65536));
    const out = aligned.flatMap((p) => c.pushParts(p));
    expect(out).toHaveLength(1);
    expect(out[0]!.every((b, i) => b.buffer === aligned[i]!.buffer && b.byteOffset === aligned[i]!.byteOffset && b.length === 65536)).toBe(true);
  });

  it('rejects a size that is not a whole number of bytes within the chunk limit', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) expect(() => new FixedChunker(bad)).toThrow(ChunkerOptionsError);
  });
});
