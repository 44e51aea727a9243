import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateDek } from '../src/dek.js';
import { IntegrityError, InvalidArgumentError, WrongKeyError } from '../src/errors.js';
import type { Kek } from '../src/kek.js';
import { WRAP_OVERHEAD, rewrapKey, unwrapKey, wrapKey, wrappedKekVersion } from '../src/wrap.js';
import { flip, caught } from './helpers.js';

const kek1: Kek = { version: 1, key: randomBytes(32) };
const kek2: Kek = { version: 2, key: randomBytes(32) };

describe('wrapKey/unwrapKey', () => {
  const dek = generateDek();
  const wrapped = wrapKey(kek1, dek.id, dek.key, 'dek');

  it('round-trips with the documented layout', () => {
    expect(wrapped.length).toBe(32 + WRAP_OVERHEAD);
    expect(wrapped[0]).toBe(0x01);
    expect(wrapped.readUInt32BE(1)).toBe(1);
    expect(wrappedKekVersion(wrapped)).toBe(1);
    expect(unwrapKey(kek1, dek.id, wrapped, 'dek').equals(dek.key)).toBe(true);
  });

  it('a wrong KEK with the right version is WrongKeyError', () => {
    const err = caught(() => unwrapKey({ version: 1, key: randomBytes(32) }, dek.id, wrapped, 'dek'));
    expect(err).toBeInstanceOf(WrongKeyError);
    expect((err as WrongKeyError).code).toBe('WRONG_KEY');
    expect((err as WrongKeyError).kekVersion).toBe(1);
    expect((err as Error).message).toMatch(/wrong KEK, or the wrapped key was altered/);
  });

  it('a KEK of another version is WrongKeyError naming the version needed', () => {
    const err = caught(() => unwrapKey(kek2, dek.id, wrapped, 'dek')) as WrongKeyError;
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err.kekVersion).toBe(1);
    expect(err.message).toMatch(/supply KEK version 1/);
  });

  it('binds the key id and label', () => {
    expect(caught(() => unwrapKey(kek1, flip(dek.id, 3), wrapped, 'dek'))).toBeInstanceOf(WrongKeyError);
    expect(caught(() => unwrapKey(kek1, dek.id, wrapped, 'id-key'))).toBeInstanceOf(WrongKeyError);
  });

  it('tampering: format byte -> IntegrityError; kek version, nonce, ciphertext, tag -> WrongKeyError', () => {
    const formatErr = caught(() => unwrapKey(kek1, dek.id, flip(wrapped, 0), 'dek')) as IntegrityError;
    expect(formatErr).toBeInstanceOf(IntegrityError);
    expect(formatErr.code).toBe('INTEGRITY');

    const versionErr = caught(() => unwrapKey(kek1, dek.id, flip(wrapped, 4), 'dek')) as WrongKeyError;
    expect(versionErr).toBeInstanceOf(WrongKeyError);
    expect(versionErr.kekVersion).toBe(0);

    const regions = { nonce: 5, 'nonce end': 16, ciphertext: 17, 'ciphertext end': 48, tag: 49, 'tag end': wrapped.length - 1 };
    for (const [region, offset] of Object.entries(regions)) {
      const err = caught(() => unwrapKey(kek1, dek.id, flip(wrapped, offset), 'dek')) as WrongKeyError;
      expect(err, region).toBeInstanceOf(WrongKeyError);
      expect(err.code, region).toBe('WRONG_KEY');
      expect(err.kekVersion, region).toBe(1);
    }
  });

  it('truncated or empty input is IntegrityError', () => {
    expect(caught(() => unwrapKey(kek1, dek.id, wrapped.subarray(0, WRAP_OVERHEAD - 1), 'dek'))).toBeInstanceOf(IntegrityError);
    expect(caught(() => wrappedKekVersion(Buffer.alloc(0)))).toBeInstanceOf(IntegrityError);
    // Cut inside the ciphertext: still long enough to parse, so the tag catches it.
    expect(caught(() => unwrapKey(kek1, dek.id, wrapped.subarray(0, wrapped.length - 1), 'dek'))).toBeInstanceOf(WrongKeyError);
  });

  it('refuses bad arguments', () => {
    expect(caught(() => wrapKey(kek1, dek.id, dek.key, 'a\0b'))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => wrapKey(kek1, Buffer.alloc(0), dek.key, 'dek'))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => wrapKey(kek1, dek.id, Buffer.alloc(0), 'dek'))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => wrapKey({ version: -1, key: kek1.key }, dek.id, dek.key, 'dek'))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => wrapKey({ version: 1, key: randomBytes(16) }, dek.id, dek.key, 'dek'))).toBeInstanceOf(InvalidArgumentError);
  });

  it('wraps secrets of other sizes (e.g. a 64-byte master key)', () => {
    const secret = randomBytes(64);
    const w = wrapKey(kek2, Buffer.from('master'), secret, 'master');
    expect(unwrapKey(kek2, Buffer.from('master'), w, 'master').equals(secret)).toBe(true);
  });
});

describe('rewrapKey (rotation)', () => {
  it('moves a wrapped key from v1 to v2; v1 no longer opens it', () => {
    const dek = generateDek();
    const v1 = wrapKey(kek1, dek.id, dek.key, 'dek');
    const v2 = rewrapKey(kek1, kek2, dek.id, v1, 'dek');
    expect(wrappedKekVersion(v2)).toBe(2);
    expect(unwrapKey(kek2, dek.id, v2, 'dek').equals(dek.key)).toBe(true);
    const err = caught(() => unwrapKey(kek1, dek.id, v2, 'dek')) as WrongKeyError;
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err.kekVersion).toBe(2);
    // A v2 key stamped with version 1 still fails: the version is in the AAD.
    const relabelled = Buffer.from(v2);
    relabelled.writeUInt32BE(1, 1);
    expect(caught(() => unwrapKey({ version: 1, key: kek2.key }, dek.id, relabelled, 'dek'))).toBeInstanceOf(WrongKeyError);
  });

  it('fails with WrongKeyError when the old KEK is wrong, and refuses two keys with one version', () => {
    const dek = generateDek();
    const v1 = wrapKey(kek1, dek.id, dek.key, 'dek');
    expect(caught(() => rewrapKey({ version: 1, key: randomBytes(32) }, kek2, dek.id, v1, 'dek'))).toBeInstanceOf(WrongKeyError);
    expect(caught(() => rewrapKey(kek1, { version: 1, key: randomBytes(32) }, dek.id, v1, 'dek'))).toBeInstanceOf(InvalidArgumentError);
  });
});
