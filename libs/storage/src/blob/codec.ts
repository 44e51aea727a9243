import { IntegrityError, keyedId, openBlob, SEAL_OVERHEAD, sealBlob, type Dek } from '@pbk/crypto';
import { decodePayload, encodeDeltaPayload, encodePayloadTransient, PayloadEncodingError } from '../compress/zstd.js';
import { BlobCorruptError } from '../errors.js';
import type { BlobType, SealedBlob } from '../pack/index.js';

/**
 * A blob is `sealBlob(dek, id, encodingByte || payload)`: compressed with zstd
 * when that shrinks it, then AES-256-GCM with the blob id and DEK id as AAD.
 */
export function sealChunk(dek: Dek, type: BlobType, id: Buffer, plaintext: Buffer, level?: number): SealedBlob {
  return { type, id, dekId: dek.id, sealed: sealBlob(dek, id, encodePayloadTransient(plaintext, level)), rawLength: plaintext.length };
}

/**
 * A delta blob is kept only when it takes at most this share of the blob's
 * full sealed size: below that, the extra read of the base on restore costs
 * less than the bytes it saves.
 */
export const DELTA_MAX_SHARE = 0.5;

/**
 * The blob sealed as a delta against `base` (its plaintext; `baseId` its id),
 * or undefined when that is not at most DELTA_MAX_SHARE of `fullSealedLength`
 * or the base cannot serve (docs/repository-format.md, "Delta blobs").
 */
export function sealDeltaChunk(dek: Dek, id: Buffer, plaintext: Buffer, baseId: Buffer, base: Buffer, fullSealedLength: number): SealedBlob | undefined {
  if (baseId.equals(id)) return undefined;
  const payload = encodeDeltaPayload(plaintext, base);
  if (!payload || payload.length + SEAL_OVERHEAD > fullSealedLength * DELTA_MAX_SHARE) return undefined;
  return { type: 'data', id, dekId: dek.id, sealed: sealBlob(dek, id, payload), rawLength: plaintext.length, deltaBase: baseId };
}

/**
 * Opens a sealed blob and checks that its plaintext hashes to its id. A delta
 * blob needs `base`, the plaintext of the base its index entry names (openDeltaBase).
 * `scratch`: decode into it when it is large enough (decodePayload's `into`);
 * the plaintext returned is then only valid until the scratch is reused.
 */
export function openChunk(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string, base?: Buffer, scratch?: Buffer): Buffer {
  let plaintext: Buffer;
  try {
    plaintext = decodePayload(openBlob(dek, id, sealed), rawLength, base, scratch);
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof PayloadEncodingError) {
      throw new BlobCorruptError(id.toString('hex'), packId, `does not decrypt or decompress (${err.message})`, { cause: err });
    }
    throw err;
  }
  if (!keyedId(idKey, plaintext).equals(id)) throw new BlobCorruptError(id.toString('hex'), packId, 'plaintext does not hash to the blob id');
  return plaintext;
}

/**
 * The plaintext of a delta blob's base, for opening that delta only: decrypted
 * (AES-GCM, the base's id in the AAD) and decompressed, but NOT hashed against
 * its id. The delta's own id check covers it: the delta decodes to plaintext
 * hashing to the delta's id only with the bytes of the base it was made
 * against, and the base's plaintext is used for nothing else. Anything that
 * returns or keeps the base itself opens it with openChunk.
 */
export function openDeltaBase(dek: Dek, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string): Buffer {
  try {
    return decodePayload(openBlob(dek, id, sealed), rawLength);
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof PayloadEncodingError) {
      throw new BlobCorruptError(id.toString('hex'), packId, `does not decrypt or decompress (${err.message})`, { cause: err });
    }
    throw err;
  }
}

/** Id and sealed form of a blob in one step (trees and small objects). */
export function makeBlob(dek: Dek, idKey: Buffer, type: BlobType, plaintext: Buffer, level?: number): SealedBlob {
  return sealChunk(dek, type, keyedId(idKey, plaintext), plaintext, level);
}
