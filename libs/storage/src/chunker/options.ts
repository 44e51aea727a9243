import { StorageError } from '../errors.js';
import { cutMask, gearTable } from './gear.js';

export interface ChunkerOptions {
  /** No cut before this many bytes (except the stream's last chunk). At least 64. */
  minSize: number;
  /**
   * Target; a power of two. Normalized chunking lands above it on random data:
   * 1.19x for the defaults, 1.14x for 2K/8K/64K. The expected length is
   * min + (1 - e^(-pS(avg - min))) / pS + e^(-pS(avg - min)) / pL,
   * with pS = 2^-(log2(avg) + 2) and pL = 2^-(log2(avg) - 2).
   */
  avgSize: number;
  /** A cut is forced here. At most MAX_CHUNK_SIZE. */
  maxSize: number;
  /** Secret that derives the gear table (the repository's gear seed); the public table when absent. */
  gearSeed?: Buffer;
}

/**
 * 512 KiB / 1 MiB / 8 MiB, as in DESIGN.md decision 1: chunks big enough that
 * the index and per-blob overhead (id, nonce, tag, index entry) stay small for
 * multi-TB base backups, small enough that a changed page in a table file costs
 * about a megabyte, not a segment. The min/max ratio follows FastCDC (min =
 * avg / 2 keeps cut-point skipping effective; max = 8 x avg bounds memory).
 * Frozen: callers that want other sizes build their own object.
 */
export const DEFAULT_CHUNKER_OPTIONS: ChunkerOptions = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 8 * 1024 * 1024,
});

/** A chunk is one Buffer in memory and one blob in a pack: keep it well below Buffer and pack limits. */
export const MAX_CHUNK_SIZE = 1024 * 1024 * 1024;

/**
 * The gear hash is 32 bits wide, so each hash value depends on the last 32
 * bytes only; minSize >= 64 leaves room to warm the hash up inside the
 * skipped prefix of the chunk (see scan in chunker.ts).
 */
export const MIN_CHUNK_SIZE_FLOOR = 64;

/**
 * FastCDC normalized chunking, level 2: the mask before avgSize has 2 more bits
 * than log2(avgSize) and the one after has 2 fewer, which narrows the chunk-size
 * distribution around avgSize (FastCDC, Xia et al., USENIX ATC 2016).
 */
export const NORMALIZATION_LEVEL = 2;

/** A gear seed shorter than this could be guessed; the repository's is 32 bytes. */
export const MIN_GEAR_SEED_BYTES = 16;

/** Invalid chunker options; `option` names the offending field. */
export class ChunkerOptionsError extends StorageError {
  constructor(readonly option: keyof ChunkerOptions | 'options', detail: string) {
    super('INVALID_ARGUMENT', `invalid chunker options: ${detail}`);
  }
}

/** Throws ChunkerOptionsError (a StorageError with code INVALID_ARGUMENT) unless `o` is usable. */
export function validateChunkerOptions(o: ChunkerOptions): void {
  if (typeof o !== 'object' || o === null) throw new ChunkerOptionsError('options', 'expected an object with minSize, avgSize and maxSize');
  for (const key of ['minSize', 'avgSize', 'maxSize'] as const) {
    const v: unknown = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new ChunkerOptionsError(key, `${key} must be a positive integer, got ${String(v)}`);
    }
  }
  const { minSize, avgSize, maxSize } = o;
  if (minSize < MIN_CHUNK_SIZE_FLOOR) throw new ChunkerOptionsError('minSize', `minSize must be at least ${MIN_CHUNK_SIZE_FLOOR}, got ${minSize}`);
  // Math.log2 is exact on powers of two; bitwise tricks would truncate above 2^31.
  if (!Number.isInteger(Math.log2(avgSize))) {
    throw new ChunkerOptionsError('avgSize', `avgSize must be a power of two, got ${avgSize}`);
  }
  if (!(minSize < avgSize)) throw new ChunkerOptionsError('avgSize', `need minSize < avgSize, got ${minSize} >= ${avgSize}`);
  if (!(avgSize < maxSize)) throw new ChunkerOptionsError('maxSize', `need avgSize < maxSize, got ${avgSize} >= ${maxSize}`);
  if (maxSize > MAX_CHUNK_SIZE) throw new ChunkerOptionsError('maxSize', `maxSize must be at most ${MAX_CHUNK_SIZE}, got ${maxSize}`);
  const seed: unknown = o.gearSeed;
  if (seed !== undefined) {
    // A Uint8Array is accepted too: a Buffer passed to a worker thread arrives as one.
    if (!(seed instanceof Uint8Array)) throw new ChunkerOptionsError('gearSeed', 'gearSeed must be a Buffer');
    if (seed.length < MIN_GEAR_SEED_BYTES) {
      throw new ChunkerOptionsError('gearSeed', `gearSeed must be at least ${MIN_GEAR_SEED_BYTES} bytes, got ${seed.length}`);
    }
  }
}

/** Validated options in the form the scan loop wants. */
export interface CompiledChunkerOptions {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  /** Mask for chunk lengths in [minSize, avgSize), as an int32 bit pattern. */
  readonly maskS: number;
  /** Mask for chunk lengths in [avgSize, maxSize), as an int32 bit pattern. */
  readonly maskL: number;
  /** The gear table as int32 bit patterns: V8 keeps int32 arithmetic unboxed. */
  readonly gear: Int32Array;
}

export function compileChunkerOptions(o: ChunkerOptions = DEFAULT_CHUNKER_OPTIONS): CompiledChunkerOptions {
  validateChunkerOptions(o);
  const bits = Math.log2(o.avgSize);
  return {
    minSize: o.minSize,
    avgSize: o.avgSize,
    maxSize: o.maxSize,
    maskS: cutMask(bits + NORMALIZATION_LEVEL) | 0,
    // avgSize is 2^7..2^29 after validation, so both counts fall in 5..31.
    maskL: cutMask(bits - NORMALIZATION_LEVEL) | 0,
    gear: compiledGear(o.gearSeed),
  };
}

/**
 * The gear table is 32 SHA-256/HMAC blocks, and a Chunker is made per file: deriving it
 * each time cost ~0.3 CPU-s per 4,300 files (measured: 70 us a table). Tables are cached by seed
 * object (a worker's seed is one object for its life) and the seed's bytes are compared,
 * so a seed changed in place is derived again. Scanners only read the table.
 */
const gearCache = new WeakMap<Uint8Array, { seed: Buffer; gear: Int32Array }>();
let unseededGear: Int32Array | undefined;

function compiledGear(seed: Uint8Array | undefined): Int32Array {
  if (seed === undefined) return (unseededGear ??= new Int32Array(gearTable().buffer));
  const hit = gearCache.get(seed);
  if (hit !== undefined && hit.seed.equals(seed)) return hit.gear;
  const gear = new Int32Array(gearTable(seed).buffer);
  // Not Buffer.from: a 32-byte copy would pin a slab of Node's shared pool.
  const copy = Buffer.alloc(seed.length);
  copy.set(seed);
  gearCache.set(seed, { seed: copy, gear });
  return gear;
}
