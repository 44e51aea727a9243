import { IntegrityError, keyedId, openBlob, sealBlob, type Dek } from '@pbk/crypto';
import { decodePayload, encodePayloadTransient, PayloadEncodingError } from '../compress/zstd.js';
import { BlobCorruptError } from '../errors.js';
import type { BlobType, SealedBlob } from '../pack/index.js';

/**
 * A blob is `sealBlob(dek, id, encodingByte || payload)`: compressed with zstd
 * when that shrinks it, then AES-256-GCM with the blob id and DEK id as AAD.
 */
export function sealChunk(dek: Dek, type: BlobType, id: Buffer, plaintext: Buffer, level?: number): SealedBlob {
  return { type, id, dekId: dek.id, sealed: sealBlob(dek, id, encodePayloadTransient(plaintext, level)), rawLength: plaintext.length };
}

/** Opens a sealed blob and checks that its plaintext hashes to its id. */
export function openChunk(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string): Buffer {
  let plaintext: Buffer;
  try {
    plaintext = decodePayload(openBlob(dek, id, sealed), rawLength);
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof PayloadEncodingError) {
      throw new BlobCorruptError(id.toString('hex'), packId, `does not decrypt or decompress (${err.message})`, { cause: err });
    }
    throw err;
  }
  if (!keyedId(idKey, plaintext).equals(id)) throw new BlobCorruptError(id.toString('hex'), packId, 'plaintext does not hash to the blob id');
  return plaintext;
}

/** Id and sealed form of a blob in one step (trees and small objects). */
export function makeBlob(dek: Dek, idKey: Buffer, type: BlobType, plaintext: Buffer, level?: number): SealedBlob {
  return sealChunk(dek, type, keyedId(idKey, plaintext), plaintext, level);
}
