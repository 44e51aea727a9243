/**
 * Wrapping DEKs and other repository secrets under the KEK (AES-256-GCM).
 *
 * Wrapped layout (byte offsets):
 *   0        1   format version, 0x01
 *   1        4   KEK version, uint32 big-endian
 *   5       12   nonce (random)
 *   17       n   ciphertext of the secret (n = secret length)
 *   17+n    16   GCM tag
 * AAD (not stored): ASCII "pbk-wrap-v1" || 0x00 || label (UTF-8, no NUL)
 *                   || 0x00 || keyId || KEK version (uint32 BE)
 * so a wrapped key copied to another id, label or KEK version fails to unwrap.
 * Labels may not contain NUL, which keeps the AAD fields unambiguous.
 */
import { SEAL_OVERHEAD, open, sealInto } from './aead.js';
import { IntegrityError, InvalidArgumentError, WrongKeyError } from './errors.js';
import { assertKek, type Kek } from './kek.js';

export const WRAP_FORMAT_VERSION = 0x01;
/** Format byte + KEK version. */
export const WRAP_HEADER_BYTES = 5;
/** Bytes a wrapped key adds to its secret. */
export const WRAP_OVERHEAD = WRAP_HEADER_BYTES + SEAL_OVERHEAD;

const AAD_PREFIX = Buffer.from('pbk-wrap-v1\0', 'ascii');

/** Wraps `secret` under `kek`, bound to `keyId` and `label` (e.g. "dek", "id-key"). */
export function wrapKey(kek: Kek, keyId: Buffer, secret: Buffer, label: string): Buffer {
  assertKek(kek);
  if (secret.length === 0) throw new InvalidArgumentError('refusing to wrap an empty secret');
  const aad = wrapAad(keyId, label, kek.version);
  const out = sealInto(kek.key, undefined, secret, aad, WRAP_HEADER_BYTES);
  out[0] = WRAP_FORMAT_VERSION;
  out.writeUInt32BE(kek.version, 1);
  return out;
}

/**
 * Unwraps a wrapKey() output. A different stored KEK version, or a tag that
 * does not verify, is a WrongKeyError; a malformed header is an IntegrityError.
 */
export function unwrapKey(kek: Kek, keyId: Buffer, wrapped: Buffer, label: string): Buffer {
  assertKek(kek);
  const what = describe(label, keyId);
  const stored = wrappedKekVersion(wrapped, what);
  if (stored !== kek.version) {
    throw new WrongKeyError(stored, `${what} is wrapped under KEK version ${stored}, but KEK version ${kek.version} was supplied: supply KEK version ${stored} (key file, env var or passphrase)`);
  }
  try {
    return open(kek.key, wrapped.subarray(WRAP_HEADER_BYTES), wrapAad(keyId, label, stored), what);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    // GCM cannot tell a wrong key from altered bytes; the verifier (checkKek) tells them apart.
    throw new WrongKeyError(kek.version, `${what} does not unwrap under KEK version ${kek.version}: wrong KEK, or the wrapped key was altered (check the key file, env var or passphrase; if the KEK verifies, restore the wrapped key from the replica)`, { cause: err });
  }
}

/** The KEK version a wrapped key needs, read from its header. */
export function wrappedKekVersion(wrapped: Buffer, what = 'wrapped key'): number {
  if (wrapped.length < WRAP_OVERHEAD) {
    throw new IntegrityError(what, `${what} is ${wrapped.length} bytes, shorter than the ${WRAP_OVERHEAD}-byte minimum: it was truncated; restore it from the replica`);
  }
  if (wrapped[0] !== WRAP_FORMAT_VERSION) {
    throw new IntegrityError(what, `${what} has format version ${wrapped[0]}, this pbk reads version ${WRAP_FORMAT_VERSION}: upgrade pbk, or the wrapped key is damaged`);
  }
  return wrapped.readUInt32BE(1);
}

/** Key rotation: unwraps under `oldKek`, wraps under `newKek`. Data sealed with the key is never touched. */
export function rewrapKey(oldKek: Kek, newKek: Kek, keyId: Buffer, wrapped: Buffer, label: string): Buffer {
  assertKek(newKek);
  if (oldKek.version === newKek.version && !oldKek.key.equals(newKek.key)) {
    throw new InvalidArgumentError(`two different keys both claim KEK version ${newKek.version}: a new KEK needs a new version number`);
  }
  const secret = unwrapKey(oldKek, keyId, wrapped, label);
  try {
    return wrapKey(newKek, keyId, secret, label);
  } finally {
    secret.fill(0);
  }
}

function wrapAad(keyId: Buffer, label: string, kekVersion: number): Buffer {
  if (keyId.length === 0) throw new InvalidArgumentError('a wrapped key must be bound to a non-empty key id');
  if (label.length === 0 || label.includes('\0')) throw new InvalidArgumentError(`a wrap label is non-empty and has no NUL character, got ${JSON.stringify(label)}`);
  const labelBytes = Buffer.from(label, 'utf8');
  const aad = Buffer.allocUnsafe(AAD_PREFIX.length + labelBytes.length + 1 + keyId.length + 4);
  let at = AAD_PREFIX.copy(aad, 0);
  at += labelBytes.copy(aad, at);
  aad[at++] = 0;
  at += keyId.copy(aad, at);
  aad.writeUInt32BE(kekVersion, at);
  return aad;
}

function describe(label: string, keyId: Buffer): string {
  return `wrapped ${label} ${keyId.toString('hex')}`;
}
