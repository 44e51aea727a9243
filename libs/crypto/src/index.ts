/**
 * @pbk/crypto: keys and authenticated encryption for pbk (DESIGN decision 3).
 *
 * - kek.ts     KEKs from key files, env vars, passphrases (scrypt); the KEK verifier
 * - dek.ts     per-backup data keys
 * - aead.ts    AES-256-GCM seal/open; blobs bound to their id and DEK
 * - wrap.ts    DEKs and repository secrets wrapped under a versioned KEK; rotation
 * - ids.ts     keyed chunk ids, SHA-256
 * - escrow.ts  the KEK exported to an escrow public key (X25519 or RSA-OAEP)
 * - errors.ts  CryptoError and its subclasses, each with a stable `code`
 *
 * Only node:crypto is used. Byte formats are documented at the top of each file.
 */
export { CryptoError, WrongKeyError, IntegrityError, KeyFileError, InvalidArgumentError, type CryptoErrorCode } from './errors.js';
export {
  KEY_BYTES,
  DEFAULT_SCRYPT,
  assertKek,
  createKeyFile,
  readKeyFile,
  kekFromEnv,
  newScryptParams,
  deriveKekFromPassphrase,
  kekVerifier,
  checkKek,
  type Kek,
  type ScryptParams,
} from './kek.js';
export { DEK_ID_BYTES, generateDek, type Dek } from './dek.js';
export { NONCE_BYTES, TAG_BYTES, SEAL_OVERHEAD, seal, open, sealWithNonce, blobAad, sealBlob, openBlob } from './aead.js';
export { WRAP_FORMAT_VERSION, WRAP_HEADER_BYTES, WRAP_OVERHEAD, wrapKey, unwrapKey, wrappedKekVersion, rewrapKey } from './wrap.js';
export { keyedId, sha256 } from './ids.js';
export {
  ESCROW_MAGIC,
  ESCROW_ALG_X25519,
  ESCROW_ALG_RSA_OAEP,
  MIN_RSA_BITS,
  exportKekForEscrow,
  importKekFromEscrow,
  escrowKeyFingerprint,
} from './escrow.js';
