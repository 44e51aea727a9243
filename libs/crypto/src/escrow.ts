/**
 * Key escrow: the KEK exported wrapped to an escrow public key (kept offline,
 * e.g. in a safe), and imported back with the matching private key.
 *
 * Escrow blob layout (byte offsets), all integers big-endian:
 *   0    7  magic, ASCII "PBKESC1" (the trailing "1" is the format version)
 *   7    1  algorithm: 0x01 = X25519 + HKDF-SHA-256 + AES-256-GCM (ECIES)
 *                      0x02 = RSA-OAEP, SHA-256 and MGF1-SHA-256
 *   8    4  KEK version, uint32
 *   12  32  recipient fingerprint: SHA-256 of the escrow public key's SPKI DER,
 *           so a wrong escrow key is named as such, not reported as damage
 * algorithm 0x01 (136 bytes in all):
 *   44  32  ephemeral X25519 public key, raw
 *   76  12  AES-GCM nonce (random)
 *   88  32  AES-256-GCM ciphertext of the KEK
 *   120 16  AES-GCM tag
 *   key = HKDF-SHA-256(ikm = X25519(ephemeral, recipient),
 *                      salt = ephemeral public || recipient public (raw, 64 bytes),
 *                      info = ASCII "pbk escrow v1 x25519 aes-256-gcm", 32 bytes)
 *   AAD = bytes 0..75 (everything before the nonce)
 * algorithm 0x02 (46 + L bytes in all):
 *   44   2  L = length of the RSA ciphertext (the modulus size in bytes)
 *   46   L  RSA-OAEP ciphertext of the 32-byte KEK, OAEP label = bytes 0..43
 * The header is authenticated in both cases (GCM AAD / OAEP label): a blob
 * whose KEK version or fingerprint was edited does not import.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  constants,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import { open, sealInto, NONCE_BYTES, TAG_BYTES } from './aead.js';
import { IntegrityError, InvalidArgumentError, WrongKeyError } from './errors.js';
import { KEY_BYTES, assertKek, type Kek } from './kek.js';

export const ESCROW_MAGIC = Buffer.from('PBKESC1', 'ascii');
export const ESCROW_ALG_X25519 = 0x01;
export const ESCROW_ALG_RSA_OAEP = 0x02;
/** RSA below this is refused outright; 3072 bits or more is recommended (NIST SP 800-57, 128-bit security). */
export const MIN_RSA_BITS = 2048;

const HEADER_BYTES = ESCROW_MAGIC.length + 1 + 4 + 32; // 44
const X25519_PUB_BYTES = 32;
const X25519_AAD_BYTES = HEADER_BYTES + X25519_PUB_BYTES; // 76
const X25519_BLOB_BYTES = X25519_AAD_BYTES + NONCE_BYTES + KEY_BYTES + TAG_BYTES; // 136
const HKDF_INFO = Buffer.from('pbk escrow v1 x25519 aes-256-gcm', 'ascii');
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

/** Wraps the KEK to an escrow public key (X25519 or RSA >= 2048 bits, PEM). */
export function exportKekForEscrow(kek: Kek, escrowPublicKeyPem: string): Buffer {
  assertKek(kek);
  const recipient = parsePublicKey(escrowPublicKeyPem);
  const header = Buffer.alloc(HEADER_BYTES);
  ESCROW_MAGIC.copy(header, 0);
  header.writeUInt32BE(kek.version, 8);
  spkiFingerprint(recipient).copy(header, 12);

  if (recipient.asymmetricKeyType === 'x25519') {
    header[7] = ESCROW_ALG_X25519;
    const ephemeral = generateKeyPairSync('x25519');
    const ephemeralPub = rawX25519(ephemeral.publicKey);
    const aad = Buffer.concat([header, ephemeralPub]);
    let key: Buffer;
    try {
      key = x25519Key(ephemeral.privateKey, recipient, ephemeralPub, rawX25519(recipient));
    } catch (err) {
      throw new InvalidArgumentError('the escrow X25519 public key is unusable (a low-order point?): generate a new escrow key pair', { cause: err });
    }
    try {
      const out = sealInto(key, undefined, kek.key, aad, X25519_AAD_BYTES);
      aad.copy(out, 0);
      return out;
    } finally {
      key.fill(0);
    }
  }

  header[7] = ESCROW_ALG_RSA_OAEP;
  const ciphertext = publicEncrypt({ key: recipient, ...OAEP, oaepLabel: header }, kek.key);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(ciphertext.length, 0);
  return Buffer.concat([header, length, ciphertext]);
}

/**
 * Recovers the KEK (and its version) from an escrow blob with the escrow
 * private key (PEM; pass `passphrase` if the PEM is encrypted).
 */
export function importKekFromEscrow(blob: Buffer, escrowPrivateKeyPem: string, passphrase?: string | Buffer): Kek {
  const what = 'escrow blob';
  if (blob.length < HEADER_BYTES || !blob.subarray(0, ESCROW_MAGIC.length).equals(ESCROW_MAGIC)) {
    throw new IntegrityError(what, `this is not a pbk escrow blob (no "PBKESC1" header, or truncated): check which file you passed`);
  }
  const alg = blob[7];
  const version = blob.readUInt32BE(8);
  const header = blob.subarray(0, HEADER_BYTES);
  const privateKey = parsePrivateKey(escrowPrivateKeyPem, passphrase, version);
  const publicKey = createPublicKey(privateKey);
  const want = blob.subarray(12, HEADER_BYTES);
  const have = spkiFingerprint(publicKey);
  if (!want.equals(have)) {
    throw new WrongKeyError(version, `this escrow blob (KEK version ${version}) was made for escrow key sha256:${want.toString('hex')}, but the private key given is sha256:${have.toString('hex')}: use the matching escrow private key`);
  }

  let key: Buffer;
  if (alg === ESCROW_ALG_X25519 && publicKey.asymmetricKeyType === 'x25519') {
    if (blob.length !== X25519_BLOB_BYTES) throw new IntegrityError(what, `${what} for KEK version ${version} is ${blob.length} bytes, an X25519 escrow blob is ${X25519_BLOB_BYTES}: it was truncated or altered`);
    const ephemeralPub = blob.subarray(HEADER_BYTES, X25519_AAD_BYTES);
    let ephemeral: KeyObject;
    try {
      ephemeral = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: ephemeralPub.toString('base64url') }, format: 'jwk' });
    } catch (err) {
      throw new IntegrityError(what, undefined, { cause: err });
    }
    let wrapKey: Buffer;
    try {
      wrapKey = x25519Key(privateKey, ephemeral, ephemeralPub, rawX25519(publicKey));
    } catch (err) {
      // An altered ephemeral key can land on a low-order point; that is damage, not a wrong key.
      throw new IntegrityError(what, undefined, { cause: err });
    }
    try {
      key = open(wrapKey, blob.subarray(X25519_AAD_BYTES), blob.subarray(0, X25519_AAD_BYTES), `${what} for KEK version ${version}`);
    } finally {
      wrapKey.fill(0);
    }
  } else if (alg === ESCROW_ALG_RSA_OAEP && publicKey.asymmetricKeyType === 'rsa') {
    const length = blob.length >= HEADER_BYTES + 2 ? blob.readUInt16BE(HEADER_BYTES) : -1;
    if (length < 0 || blob.length !== HEADER_BYTES + 2 + length) {
      throw new IntegrityError(what, `${what} for KEK version ${version} has the wrong length for its RSA ciphertext: it was truncated or altered`);
    }
    try {
      key = privateDecrypt({ key: privateKey, ...OAEP, oaepLabel: header }, blob.subarray(HEADER_BYTES + 2));
    } catch (err) {
      throw new IntegrityError(what, `${what} for KEK version ${version} does not decrypt with the matching escrow key: it was altered; use another escrow copy`, { cause: err });
    }
  } else {
    throw new IntegrityError(what, `${what} has algorithm byte ${String(alg)}, which does not match the ${String(publicKey.asymmetricKeyType)} escrow key: upgrade pbk, or the blob is damaged`);
  }
  if (key.length !== KEY_BYTES) throw new IntegrityError(what, `${what} for KEK version ${version} holds ${key.length} bytes, not a ${KEY_BYTES}-byte KEK`);
  return { version, key };
}

/** "sha256:<hex>" of an escrow key's SPKI DER (public or private PEM), as recorded in escrow blobs. */
export function escrowKeyFingerprint(pem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new InvalidArgumentError(`cannot parse the escrow key PEM: ${errText(err)}`, { cause: err });
  }
  return `sha256:${spkiFingerprint(key).toString('hex')}`;
}

function parsePublicKey(pem: string): KeyObject {
  if (/PRIVATE KEY-----/.test(pem)) {
    throw new InvalidArgumentError('escrow export takes the escrow PUBLIC key: keep the private key offline and pass its public half');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new InvalidArgumentError(`cannot parse the escrow public key PEM: ${errText(err)}`, { cause: err });
  }
  checkKeyType(key);
  return key;
}

function parsePrivateKey(pem: string, passphrase: string | Buffer | undefined, kekVersion: number): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MISSING_PASSPHRASE') {
      throw new InvalidArgumentError('the escrow private key is encrypted: supply its passphrase', { cause: err });
    }
    if (passphrase !== undefined && code === 'ERR_OSSL_BAD_DECRYPT') {
      throw new WrongKeyError(kekVersion, "the escrow private key's passphrase is wrong", { cause: err });
    }
    throw new InvalidArgumentError(`cannot parse the escrow private key PEM: ${errText(err)}`, { cause: err });
  }
  checkKeyType(key);
  return key;
}

function checkKeyType(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === 'x25519') return;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new InvalidArgumentError(`the escrow RSA key has ${bits} bits; pbk refuses fewer than ${MIN_RSA_BITS} (3072 or more recommended): generate a new escrow key`);
    }
    return;
  }
  throw new InvalidArgumentError(`escrow keys must be X25519 or RSA (for OAEP), got ${String(type)}: e.g. \`openssl genpkey -algorithm X25519\``);
}

function x25519Key(privateKey: KeyObject, publicKey: KeyObject, ephemeralPub: Buffer, recipientPub: Buffer): Buffer {
  const shared = diffieHellman({ privateKey, publicKey });
  try {
    // Belt and braces: a low-order peer key yields an all-zero secret.
    if (shared.every((b) => b === 0)) throw new InvalidArgumentError('X25519 produced an all-zero shared secret');
    return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralPub, recipientPub]), HKDF_INFO, KEY_BYTES));
  } finally {
    shared.fill(0);
  }
}

function rawX25519(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new InvalidArgumentError('cannot read the raw X25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

function spkiFingerprint(key: KeyObject): Buffer {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest();
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
