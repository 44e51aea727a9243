/** Content ids: keyed chunk ids (DESIGN decision 1) and plain SHA-256. */
import { createHash, createHmac } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

// A short or empty id-key would make chunk ids plain hashes anyone can confirm guesses against.
const MIN_ID_KEY_BYTES = 16;

/** Chunk id = HMAC-SHA-256(repository id-key, plaintext), 32 bytes. */
export function keyedId(idKey: Buffer, data: Buffer): Buffer {
  if (idKey.length < MIN_ID_KEY_BYTES) {
    throw new InvalidArgumentError(`the repository id-key must be at least ${MIN_ID_KEY_BYTES} bytes, got ${idKey.length}`);
  }
  return createHmac('sha256', idKey).update(data).digest();
}

/** SHA-256 of one buffer, or of several buffers concatenated (without concatenating them). */
export function sha256(data: Buffer | Buffer[]): Buffer {
  const hash = createHash('sha256');
  if (Array.isArray(data)) for (const part of data) hash.update(part);
  else hash.update(data);
  return hash.digest();
}
