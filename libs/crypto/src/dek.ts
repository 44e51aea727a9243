/**
 * Data-encryption keys: one per backup run (DESIGN decision 3). A DEK is
 * stored only wrapped under the KEK (wrap.ts); destroying its wrapped copy
 * crypto-erases every blob sealed with it.
 */
import { randomBytes } from 'node:crypto';
import { KEY_BYTES } from './kek.js';

/** DEK ids are random, so 128 bits make collisions across a repository's lifetime negligible. */
export const DEK_ID_BYTES = 16;

export interface Dek {
  readonly id: Buffer;
  readonly key: Buffer;
}

/** A fresh DEK with a random id and key. */
export function generateDek(): Dek {
  return { id: randomBytes(DEK_ID_BYTES), key: randomBytes(KEY_BYTES) };
}
