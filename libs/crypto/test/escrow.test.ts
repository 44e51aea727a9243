import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidArgumentError, WrongKeyError } from '../src/errors.js';
import { ESCROW_ALG_RSA_OAEP, ESCROW_ALG_X25519, escrowKeyFingerprint, exportKekForEscrow, importKekFromEscrow } from '../src/escrow.js';
import type { Kek } from '../src/kek.js';
import { flip, caught } from './helpers.js';

const SPKI = { type: 'spki', format: 'pem' } as const;
const PKCS8 = { type: 'pkcs8', format: 'pem' } as const;
const x25519 = generateKeyPairSync('x25519', { publicKeyEncoding: SPKI, privateKeyEncoding: PKCS8 });
const x25519Other = generateKeyPairSync('x25519', { publicKeyEncoding: SPKI, privateKeyEncoding: PKCS8 });
const rsa = generateKeyPairSync('rsa', { modulusLength: 3072, publicKeyEncoding: SPKI, privateKeyEncoding: PKCS8 });
const kek: Kek = { version: 7, key: randomBytes(32) };

describe('escrow with X25519 (ECIES)', () => {
  const blob = exportKekForEscrow(kek, x25519.publicKey);

  it('round-trips the KEK and its version; layout as documented', () => {
    expect(blob.length).toBe(136);
    expect(blob.subarray(0, 7).toString('ascii')).toBe('PBKESC1');
    expect(blob[7]).toBe(ESCROW_ALG_X25519);
    expect(blob.readUInt32BE(8)).toBe(7);
    expect('sha256:' + blob.subarray(12, 44).toString('hex')).toBe(escrowKeyFingerprint(x25519.publicKey));
    const back = importKekFromEscrow(blob, x25519.privateKey);
    expect(back.version).toBe(7);
    expect(back.key.equals(kek.key)).toBe(true);
    // Fresh ephemeral key each export.
    expect(exportKekForEscrow(kek, x25519.publicKey).equals(blob)).toBe(false);
  });

  it('another escrow key is WrongKeyError naming both fingerprints', () => {
    const err = caught(() => importKekFromEscrow(blob, x25519Other.privateKey)) as WrongKeyError;
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err.kekVersion).toBe(7);
    expect(err.message).toContain(escrowKeyFingerprint(x25519.publicKey));
    expect(caught(() => importKekFromEscrow(blob, rsa.privateKey))).toBeInstanceOf(WrongKeyError);
  });

  it('tampering: magic, algorithm, version, ephemeral key, nonce, ciphertext, tag -> IntegrityError; fingerprint -> WrongKeyError', () => {
    const regions = { magic: 0, algorithm: 7, 'kek version': 11, 'ephemeral key': 50, nonce: 80, ciphertext: 100, tag: 135 };
    for (const [region, offset] of Object.entries(regions)) {
      const err = caught(() => importKekFromEscrow(flip(blob, offset), x25519.privateKey)) as IntegrityError;
      expect(err, region).toBeInstanceOf(IntegrityError);
      expect(err.code, region).toBe('INTEGRITY');
    }
    const fp = caught(() => importKekFromEscrow(flip(blob, 20), x25519.privateKey)) as WrongKeyError;
    expect(fp).toBeInstanceOf(WrongKeyError);
    expect(fp.code).toBe('WRONG_KEY');
    expect(caught(() => importKekFromEscrow(blob.subarray(0, blob.length - 1), x25519.privateKey))).toBeInstanceOf(IntegrityError);
    expect(caught(() => importKekFromEscrow(blob.subarray(0, 10), x25519.privateKey))).toBeInstanceOf(IntegrityError);
  });
});

describe('escrow with RSA-OAEP-SHA-256', () => {
  const blob = exportKekForEscrow(kek, rsa.publicKey);

  it('round-trips the KEK and its version', () => {
    expect(blob[7]).toBe(ESCROW_ALG_RSA_OAEP);
    expect(blob.readUInt16BE(44)).toBe(384);
    expect(blob.length).toBe(46 + 384);
    const back = importKekFromEscrow(blob, rsa.privateKey);
    expect(back.version).toBe(7);
    expect(back.key.equals(kek.key)).toBe(true);
  });

  it('tampering: version (OAEP label), ciphertext, length -> IntegrityError; fingerprint -> WrongKeyError', () => {
    for (const [region, offset] of Object.entries({ magic: 3, algorithm: 7, 'kek version': 11, length: 45, ciphertext: 200, 'ciphertext end': blob.length - 1 })) {
      const err = caught(() => importKekFromEscrow(flip(blob, offset), rsa.privateKey));
      expect(err, region).toBeInstanceOf(IntegrityError);
    }
    expect(caught(() => importKekFromEscrow(flip(blob, 30), rsa.privateKey))).toBeInstanceOf(WrongKeyError);
  });

});

describe('encrypted escrow private keys', () => {
  it('import with the passphrase; without it INVALID_ARGUMENT; with a wrong one WRONG_KEY', () => {
    const enc = generateKeyPairSync('x25519', {
      publicKeyEncoding: SPKI,
      privateKeyEncoding: { ...PKCS8, cipher: 'aes-256-cbc', passphrase: 'escrow pass' },
    });
    const blob = exportKekForEscrow(kek, enc.publicKey);
    expect(importKekFromEscrow(blob, enc.privateKey, 'escrow pass').key.equals(kek.key)).toBe(true);
    expect(caught(() => importKekFromEscrow(blob, enc.privateKey))).toBeInstanceOf(InvalidArgumentError);
    const wrong = caught(() => importKekFromEscrow(blob, enc.privateKey, 'wrong pass')) as WrongKeyError;
    expect(wrong).toBeInstanceOf(WrongKeyError);
    expect(wrong.kekVersion).toBe(7);
  });
});

describe('escrow key checks', () => {
  it('refuses RSA under 2048 bits, unsupported key types, private keys on export, and junk', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: SPKI, privateKeyEncoding: PKCS8 });
    expect((caught(() => exportKekForEscrow(kek, small.publicKey)) as Error).message).toMatch(/1024 bits/);
    const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI, privateKeyEncoding: PKCS8 });
    expect(caught(() => exportKekForEscrow(kek, ed.publicKey))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => exportKekForEscrow(kek, x25519.privateKey))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => exportKekForEscrow(kek, 'not a key'))).toBeInstanceOf(InvalidArgumentError);
  });
});
