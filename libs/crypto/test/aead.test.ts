import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NONCE_BYTES, SEAL_OVERHEAD, TAG_BYTES, blobAad, open, openBlob, seal, sealBlob } from '../src/aead.js';
import { DEK_ID_BYTES, generateDek } from '../src/dek.js';
import { CryptoError, IntegrityError } from '../src/errors.js';
import { flip } from './helpers.js';

function expectIntegrity(fn: () => unknown, what?: string): IntegrityError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IntegrityError);
  const err = caught as IntegrityError;
  expect(err.code).toBe('INTEGRITY');
  expect(err.name).toBe('IntegrityError');
  if (what !== undefined) expect(err.what).toBe(what);
  return err;
}

describe('seal/open', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('context');

  it('round-trips, including empty plaintext, with the documented layout', () => {
    for (const size of [0, 1, 15, 16, 17, 4096, 1 << 20]) {
      const pt = randomBytes(size);
      const sealed = seal(key, pt, aad);
      expect(sealed.length).toBe(size + SEAL_OVERHEAD);
      expect(open(key, sealed, aad, 'x').equals(pt)).toBe(true);
    }
  });

  it('uses a fresh nonce each time', () => {
    const pt = Buffer.from('same plaintext');
    const a = seal(key, pt, aad);
    const b = seal(key, pt, aad);
    expect(a.subarray(0, NONCE_BYTES).equals(b.subarray(0, NONCE_BYTES))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('rejects one flipped bit in the nonce, ciphertext or tag', () => {
    const sealed = seal(key, randomBytes(100), aad);
    for (const offset of [0, NONCE_BYTES - 1, NONCE_BYTES, NONCE_BYTES + 50, sealed.length - TAG_BYTES - 1, sealed.length - TAG_BYTES, sealed.length - 1]) {
      expectIntegrity(() => open(key, flip(sealed, offset), aad, 'thing'), 'thing');
    }
  });

  it('rejects other AAD, another key, and truncated input (including shorter than the overhead)', () => {
    const sealed = seal(key, randomBytes(100), aad);
    expectIntegrity(() => open(key, sealed, Buffer.from('contexT'), 'thing'));
    expectIntegrity(() => open(randomBytes(32), sealed, aad, 'thing'));
    expectIntegrity(() => open(key, sealed.subarray(0, sealed.length - 1), aad, 'thing'));
    expectIntegrity(() => open(key, sealed.subarray(1), aad, 'thing'));
    expect(expectIntegrity(() => open(key, sealed.subarray(0, SEAL_OVERHEAD - 1), aad, 'thing')).message).toMatch(/truncated/);
    expectIntegrity(() => open(key, Buffer.alloc(0), aad, 'thing'));
  });

  it('refuses a key that is not 32 bytes with INVALID_ARGUMENT', () => {
    expect(() => seal(randomBytes(16), Buffer.from('x'), aad)).toThrow(CryptoError);
    try {
      seal(randomBytes(16), Buffer.from('x'), aad);
    } catch (err) {
      expect((err as CryptoError).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('sealBlob/openBlob', () => {
  const dek = generateDek();
  const blobId = randomBytes(32);
  const pt = randomBytes(5000);
  const sealed = sealBlob(dek, blobId, pt);
  const what = `blob ${blobId.toString('hex')}`;

  it('round-trips', () => {
    expect(dek.id.length).toBe(DEK_ID_BYTES);
    expect(openBlob(dek, blobId, sealed).equals(pt)).toBe(true);
  });

  it('binds the blob id: a blob moved to another id does not open', () => {
    const other = flip(blobId, 31);
    expectIntegrity(() => openBlob(dek, other, sealed), `blob ${other.toString('hex')}`);
  });

  it('binds the DEK id: relabelling with another DEK id (same key) does not open', () => {
    expectIntegrity(() => openBlob({ id: flip(dek.id, 0), key: dek.key }, blobId, sealed), what);
  });

  it('rejects flipped bits and truncation, naming the blob', () => {
    for (const offset of [0, NONCE_BYTES + 7, sealed.length - 1]) expectIntegrity(() => openBlob(dek, blobId, flip(sealed, offset)), what);
    expectIntegrity(() => openBlob(dek, blobId, sealed.subarray(0, 20)), what);
  });

  it('lays out the AAD as "pbk-blob-v1" 0x00 blobId dekId', () => {
    const aad = blobAad(blobId, dek.id);
    expect(aad.equals(Buffer.concat([Buffer.from('pbk-blob-v1'), Buffer.from([0]), blobId, dek.id]))).toBe(true);
    expect(() => blobAad(randomBytes(31), dek.id)).toThrow(/32 bytes/);
    expect(() => blobAad(blobId, randomBytes(15))).toThrow(/16 bytes/);
  });
});
