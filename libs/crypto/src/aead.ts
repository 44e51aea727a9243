/**
 * AES-256-GCM with 96-bit random nonces and 128-bit tags.
 * Sealed layout: nonce(12) || ciphertext || tag(16).
 *
 * Random 96-bit nonces are safe up to about 2**32 seals per key (NIST SP
 * 800-38D); a DEK per backup run keeps every key far below that.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { Dek } from './dek.js';
import { DEK_ID_BYTES } from './dek.js';
import { InvalidArgumentError, IntegrityError } from './errors.js';
import { assertKey } from './kek.js';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

const ALGORITHM = 'aes-256-gcm';
const BLOB_ID_BYTES = 32;
const BLOB_AAD_PREFIX = Buffer.from('pbk-blob-v1\0', 'ascii');

/** Encrypts and authenticates `plaintext` (and `aad`, not stored) under a fresh random nonce. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  return sealInto(key, undefined, plaintext, aad, 0);
}

/**
 * seal() with a caller-chosen nonce, for known-answer tests only. Production
 * code never passes a nonce: reusing one under a key leaks plaintext XORs and
 * the GCM authentication key.
 */
export function sealWithNonce(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (nonce.length !== NONCE_BYTES) throw new InvalidArgumentError(`an AES-GCM nonce is ${NONCE_BYTES} bytes, got ${nonce.length}`);
  return sealInto(key, nonce, plaintext, aad, 0);
}

/**
 * @internal Seals into one output buffer that leaves `headerBytes` free at the
 * front (wrap.ts writes its header there): one allocation and one copy of the
 * ciphertext, the least node:crypto allows (Cipher.update cannot write into a
 * caller's buffer).
 */
export function sealInto(key: Buffer, nonce: Buffer | undefined, plaintext: Buffer, aad: Buffer, headerBytes: number): Buffer {
  assertKey(key, 'an AES-256-GCM key');
  const out = Buffer.allocUnsafe(headerBytes + NONCE_BYTES + plaintext.length + TAG_BYTES);
  const iv = out.subarray(headerBytes, headerBytes + NONCE_BYTES);
  if (nonce) nonce.copy(iv);
  else randomFillSync(iv);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  let at = headerBytes + NONCE_BYTES;
  at += cipher.update(plaintext).copy(out, at);
  at += cipher.final().copy(out, at); // empty for GCM, copied for completeness
  cipher.getAuthTag().copy(out, at);
  return out;
}

/** Checks and decrypts a seal() output. Throws IntegrityError naming `what` on any mismatch. */
export function open(key: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  assertKey(key, 'an AES-256-GCM key');
  if (sealed.length < SEAL_OVERHEAD) {
    throw new IntegrityError(what, `${what} is ${sealed.length} bytes, shorter than the ${SEAL_OVERHEAD}-byte nonce and tag: it was truncated; restore it from another copy and run \`pbk verify\``);
  }
  const tagAt = sealed.length - TAG_BYTES;
  const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(tagAt));
  decipher.setAAD(aad);
  const plaintext = decipher.update(sealed.subarray(NONCE_BYTES, tagAt));
  try {
    const rest = decipher.final();
    // GCM's final() is empty; keep the general case correct anyway.
    return rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]);
  } catch (err) {
    // The unauthenticated plaintext is discarded: never hand it out.
    plaintext.fill(0);
    throw new IntegrityError(what, undefined, { cause: err });
  }
}

/** AAD binding a blob to its id and DEK: ASCII "pbk-blob-v1" || 0x00 || blobId(32) || dekId(16). */
export function blobAad(blobId: Buffer, dekId: Buffer): Buffer {
  if (blobId.length !== BLOB_ID_BYTES) throw new InvalidArgumentError(`a blob id is ${BLOB_ID_BYTES} bytes, got ${blobId.length}`);
  if (dekId.length !== DEK_ID_BYTES) throw new InvalidArgumentError(`a DEK id is ${DEK_ID_BYTES} bytes, got ${dekId.length}`);
  const aad = Buffer.allocUnsafe(BLOB_AAD_PREFIX.length + BLOB_ID_BYTES + DEK_ID_BYTES);
  BLOB_AAD_PREFIX.copy(aad, 0);
  blobId.copy(aad, BLOB_AAD_PREFIX.length);
  dekId.copy(aad, BLOB_AAD_PREFIX.length + BLOB_ID_BYTES);
  return aad;
}

/** Seals a blob so it opens only under its own id and DEK. */
export function sealBlob(dek: Dek, blobId: Buffer, plaintext: Buffer): Buffer {
  return seal(dek.key, plaintext, blobAad(blobId, dek.id));
}

/** Opens a sealBlob() output; a blob moved to another id or relabelled with another DEK fails with IntegrityError. */
export function openBlob(dek: Dek, blobId: Buffer, sealed: Buffer): Buffer {
  return open(dek.key, sealed, blobAad(blobId, dek.id), `blob ${blobId.toString('hex')}`);
}
