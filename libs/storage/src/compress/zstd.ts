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

/** Inverse of encodePayload; `rawLength` bounds the output (taken from the index). */
export function decodePayload(payload: Buffer, rawLength?: number): Buffer {
  const encoding = payload[0];
  if (encoding === ENCODING_STORED) return payload.subarray(1);
  if (encoding !== ENCODING_ZSTD) throw new PayloadEncodingError(`unknown blob encoding byte ${encoding}`);
  const frame = payload.subarray(1);
  const size = rawLength ?? zstd.getFrameContentSize(frame);
  if (size === null || size === undefined) throw new PayloadEncodingError('zstd frame without content size');
  dctx ??= new zstd.DCtx();
  const out = Buffer.allocUnsafe(size);
  let n: number;
  try {
    n = dctx.decompress(out, frame);
  } catch (err) {
    throw new PayloadEncodingError(`zstd frame does not decompress: ${(err as Error).message}`);
  }
  if (n !== size) throw new PayloadEncodingError(`zstd frame decompressed to ${n} bytes, expected ${size}`);
  return out;
}
