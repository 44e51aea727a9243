import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';

// The low-level binding lets us compress into a buffer we own (one allocation,
// room for the encoding byte in front), which the high-level API does not.
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

/** Encoding byte that starts every blob plaintext (see docs/repository-format.md). */
export const ENCODING_STORED = 0x00;
export const ENCODING_ZSTD = 0x01;

/**
 * zstd level for data blobs. Level 1 keeps compression near 370 MB/s per core on
 * this class of machine (ENVIRONMENT.md) while restic's `auto` is comparable;
 * higher levels cost CPU the 2-core agents do not have during a backup.
 */
export const DEFAULT_ZSTD_LEVEL = 1;

let cctx: ZstdBinding.CCtx | undefined;
let dctx: ZstdBinding.DCtx | undefined;

let scratch = Buffer.allocUnsafeSlow(0);

/**
 * Returns `encoding byte || payload`: zstd when it shrinks the data, the bytes
 * as they are otherwise (media and already-compressed files cost no more than
 * one failed attempt). The result is a view into a scratch buffer that the
 * next call overwrites: callers seal it at once (the seal copies it), which
 * saves a compressBound-sized allocation per chunk on the backup hot path.
 */
export function encodePayloadTransient(data: Uint8Array, level = DEFAULT_ZSTD_LEVEL): Buffer {
  cctx ??= new zstd.CCtx();
  const need = 1 + Math.max(zstd.compressBound(data.length), data.length);
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(need);
  const n = cctx.compress(scratch.subarray(1, need), data, level);
  if (n + 1 < data.length) {
    scratch[0] = ENCODING_ZSTD;
    return scratch.subarray(0, n + 1);
  }
  scratch[0] = ENCODING_STORED;
  scratch.set(data, 1);
  return scratch.subarray(0, data.length + 1);
}

/** encodePayloadTransient, in a buffer of its own. */
export function encodePayload(data: Uint8Array, level = DEFAULT_ZSTD_LEVEL): Buffer {
  return Buffer.from(encodePayloadTransient(data, level));
}

export class PayloadEncodingError extends Error {}

/**
 * Inverse of encodePayload and encodeDeltaPayload; `rawLength` bounds the
 * output (taken from the index). A delta payload needs `base`, the plaintext
 * of the blob the index names as its base. With `into` (large enough), a
 * compressed payload is decoded into it and a view of it returned: for
 * plaintext only checked, never kept (a fresh buffer per blob cost the
 * coordinator's receipt check more than the decompression).
 */
export function decodePayload(payload: Buffer, rawLength?: number, base?: Uint8Array, into?: Buffer): Buffer {
  const encoding = payload[0];
  if (encoding === ENCODING_STORED) return payload.subarray(1);
  if (encoding !== ENCODING_ZSTD && encoding !== ENCODING_ZSTD_DELTA) throw new PayloadEncodingError(`unknown blob encoding byte ${encoding}`);
  if (encoding === ENCODING_ZSTD_DELTA && !base) throw new PayloadEncodingError('delta payload, but the index names no base blob for it');
  if (encoding === ENCODING_ZSTD_DELTA && !usableDeltaBase(base!)) throw new PayloadEncodingError('delta payload against a base that cannot be a raw-content dictionary');
  const frame = payload.subarray(1);
  const size = rawLength ?? zstd.getFrameContentSize(frame);
  if (size === null || size === undefined) throw new PayloadEncodingError('zstd frame without content size');
  dctx ??= new zstd.DCtx();
  const out = into !== undefined && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  let n: number;
  try {
    n = encoding === ENCODING_ZSTD_DELTA ? dctx.decompressUsingDict(out, frame, base!) : dctx.decompress(out, frame);
  } catch (err) {
    throw new PayloadEncodingError(`zstd frame does not decompress: ${(err as Error).message}`);
  }
  if (n !== size) throw new PayloadEncodingError(`zstd frame decompressed to ${n} bytes, expected ${size}`);
  return out;
}

/** Encoding byte of a delta blob's payload (docs/repository-format.md, "Delta blobs"). */
export const ENCODING_ZSTD_DELTA = 0x02;

/**
 * zstd level for delta frames. The base is a whole chunk (up to 8 MiB), and
 * level 1's small hash table finds few of its matches: measured on
 * PostgreSQL relation files (bench:pg-chunking), level 3 makes deltas of a
 * tenth the size of level 1's at about the same speed per byte.
 */
export const DELTA_ZSTD_LEVEL = 3;

/** The first bytes of a zstd dictionary: a base starting with them would be parsed as one, not used as raw content. */
const ZSTD_DICT_MAGIC = 0xec30a437;

/** Whether `base` can serve as a raw-content dictionary (see ZSTD_DICT_MAGIC). */
export function usableDeltaBase(base: Uint8Array): boolean {
  return base.length >= 8 && !(base.length >= 4 && Buffer.from(base.buffer, base.byteOffset, 4).readUInt32LE(0) === ZSTD_DICT_MAGIC);
}

/**
 * `0x02 || zstd_frame(data, dictionary = base as raw content)`, in a buffer of
 * its own, or undefined when the base cannot be a dictionary. The caller
 * decides whether the delta is worth keeping.
 */
export function encodeDeltaPayload(data: Uint8Array, base: Uint8Array, level = DELTA_ZSTD_LEVEL): Buffer | undefined {
  if (!usableDeltaBase(base)) return undefined;
  cctx ??= new zstd.CCtx();
  const out = Buffer.allocUnsafeSlow(1 + zstd.compressBound(data.length));
  const n = cctx.compressUsingDict(out.subarray(1), data, base, level);
  out[0] = ENCODING_ZSTD_DELTA;
  return Buffer.from(out.subarray(0, n + 1));
}

/** Whether a payload (after opening) is a delta and needs its base to decode. */
export function isDeltaPayload(payload: Uint8Array): boolean {
  return payload[0] === ENCODING_ZSTD_DELTA;
}
