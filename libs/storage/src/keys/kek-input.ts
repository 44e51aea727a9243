import { deriveKekFromPassphrase, newScryptParams, kekVerifier, type ScryptParams } from '@pbk/crypto';
import { StorageError } from '../errors.js';
import type { KekRecord } from './kek-record.js';

/**
 * How the operator supplies the key-encryption key. The app's config loader
 * builds this from a key file, an environment variable or a passphrase prompt;
 * the library never reads the environment itself.
 */
export type KekInput = { kind: 'key'; key: Buffer } | { kind: 'passphrase'; passphrase: string; scrypt?: Partial<Pick<ScryptParams, 'N' | 'r' | 'p'>> };

/** Derives the KEK bytes for an existing record (passphrase KEKs use the record's salt). */
export async function kekBytesFor(input: KekInput, record: KekRecord): Promise<Buffer> {
  if (input.kind === 'key') {
    if (record.kdf) throw new StorageError('FAILED_PRECONDITION', `KEK version ${record.version} is passphrase-based: supply the passphrase, not a key file`);
    return checkLength(input.key);
  }
  if (!record.kdf) throw new StorageError('FAILED_PRECONDITION', `KEK version ${record.version} is a key file/env key: supply that key, not a passphrase`);
  const { N, r, p, salt } = record.kdf;
  return deriveKekFromPassphrase(input.passphrase, { N, r, p, salt });
}

/** A fresh record (and KEK bytes) for a new KEK version. */
export async function newKekRecord(input: KekInput, version: number, now: Date): Promise<{ record: KekRecord; key: Buffer }> {
  let key: Buffer;
  let kdf: KekRecord['kdf'] = null;
  if (input.kind === 'key') {
    key = checkLength(input.key);
  } else {
    const params = newScryptParams(input.scrypt);
    kdf = { name: 'scrypt', ...params };
    key = await deriveKekFromPassphrase(input.passphrase, params);
  }
  return { record: { version, created: now.toISOString(), kdf, verifier: kekVerifier(key).toString('base64') }, key };
}

function checkLength(key: Buffer): Buffer {
  if (key.length !== 32) throw new StorageError('INVALID_ARGUMENT', `a KEK is 32 bytes, this one is ${key.length}`);
  return key;
}
