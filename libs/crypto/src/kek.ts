/**
 * Key-encryption keys (KEKs): key files, environment variables, passphrases,
 * and the verifier that tells a wrong KEK from a damaged repository.
 * Only apps read files and the environment on their own; these helpers are
 * called from an app's config loader.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CryptoError, IntegrityError, InvalidArgumentError, KeyFileError, WrongKeyError } from './errors.js';

/** Every symmetric key in pbk (KEK, DEK, id-key) is AES-256 / HMAC-SHA-256 sized. */
export const KEY_BYTES = 32;

/** A KEK and the version the repository knows it by (keys/kek-<version>). */
export interface Kek {
  readonly version: number;
  readonly key: Buffer;
}

// A key file is 44 base64 characters plus a newline; anything much larger is not a key file.
const MAX_KEY_FILE_BYTES = 1024;
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

/** Throws unless `kek` has a uint32 version and a 32-byte key. */
export function assertKek(kek: Kek): void {
  assertKekVersion(kek.version);
  assertKey(kek.key, `KEK version ${kek.version}`);
}

/** @internal */
export function assertKekVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new InvalidArgumentError(`a KEK version is an integer from 0 to 4294967295, got ${String(version)}`);
  }
}

/** @internal */
export function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    const got = Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key;
    throw new InvalidArgumentError(`${what} must be ${KEY_BYTES} bytes, got ${got}`);
  }
}

/**
 * Creates a new key file holding 32 random bytes as base64 + "\n".
 * Refuses to overwrite an existing file (losing a KEK loses every backup).
 */
export async function createKeyFile(path: string): Promise<Buffer> {
  let fh: FileHandle;
  try {
    // 'wx' = O_CREAT|O_EXCL: never clobber an existing key, never follow a planted symlink.
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      throw new KeyFileError(path, `key file ${path} already exists: refusing to overwrite a KEK (move it away first if you really mean to replace it)`, { cause: err });
    }
    throw new KeyFileError(path, `cannot create key file ${path}: ${errText(err)}`, { cause: err });
  }
  const key = randomBytes(KEY_BYTES);
  try {
    // open()'s mode is filtered by the umask; fchmod sets exactly 0600 whatever the umask.
    await fh.chmod(0o600);
    await fh.writeFile(key.toString('base64') + '\n', 'ascii');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    // A half-written key file would later fail to read; remove it so a retry starts clean.
    await unlink(path).catch(() => undefined);
    throw new KeyFileError(path, `cannot write key file ${path}: ${errText(err)} (nothing was kept)`, { cause: err });
  }
  await fh.close();
  await syncDir(dirname(path));
  return key;
}

/**
 * Reads a key file written by createKeyFile. Refuses a file whose mode grants
 * anything to group or other: a KEK anyone on the host can read is not secret.
 */
export async function readKeyFile(path: string): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new KeyFileError(path, `key file ${path} does not exist: check the configured key file path (create one with \`pbk-coordinator init\`)`, { cause: err });
    }
    throw new KeyFileError(path, `cannot open key file ${path}: ${errText(err)}`, { cause: err });
  }
  try {
    // fstat on the open handle, not stat on the path, so the checked file is the read file.
    const st = await fh.stat();
    if (!st.isFile()) throw new KeyFileError(path, `key file ${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
      throw new KeyFileError(path, `key file ${path} has mode ${mode}, readable by group or other: run \`chmod 600 ${path}\` (and consider rotating the KEK if others could read it)`);
    }
    if (st.size > MAX_KEY_FILE_BYTES) {
      throw new KeyFileError(path, `key file ${path} is ${st.size} bytes; a key file holds 44 base64 characters (32 bytes) and a newline`);
    }
    const text = await fh.readFile('ascii');
    return decodeKey32(text, () => new KeyFileError(path, `key file ${path} does not hold base64 of ${KEY_BYTES} bytes (44 characters): was it truncated or edited? Restore it from your key backup`));
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw new KeyFileError(path, `cannot read key file ${path}: ${errText(err)}`, { cause: err });
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Reads a base64 KEK from `env[name]`. The value is never echoed in errors.
 * The caller passes the environment so libraries never read process.env.
 */
export function kekFromEnv(env: NodeJS.ProcessEnv, name: string): Buffer {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new InvalidArgumentError(`environment variable ${name} is not set: set it to the base64 KEK (32 bytes), or configure a key file instead`);
  }
  return decodeKey32(value, () => new InvalidArgumentError(`environment variable ${name} is not base64 of ${KEY_BYTES} bytes (44 characters): check how it is set (value not shown)`));
}

function decodeKey32(text: string, fail: () => CryptoError): Buffer {
  const trimmed = text.trim();
  // Buffer.from(..., 'base64') silently skips junk; insist on the canonical form.
  if (!BASE64_32.test(trimmed)) throw fail();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw fail();
  return key;
}

/** scrypt parameters stored next to a passphrase KEK (no secret in here). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  /** base64, 16 bytes or more. */
  salt: string;
}

/**
 * Defaults: N=2**17, r=8, p=1 costs 128 MiB and a few hundred ms once per
 * process start, the OWASP-recommended minimum for scrypt; the memory cost is
 * what makes offline guessing on GPUs expensive.
 */
export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
// Bounds the memory a (tampered) stored parameter set can make us allocate.
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/** Fresh parameters with a random salt; tests pass a small N. */
export function newScryptParams(opts?: { N?: number; r?: number; p?: number }): ScryptParams {
  const params: ScryptParams = {
    N: opts?.N ?? DEFAULT_SCRYPT.N,
    r: opts?.r ?? DEFAULT_SCRYPT.r,
    p: opts?.p ?? DEFAULT_SCRYPT.p,
    salt: randomBytes(SALT_BYTES).toString('base64'),
  };
  checkScryptCost(params.N, params.r, params.p);
  return params;
}

/** Derives a 32-byte KEK from a passphrase. Strings are NFC-normalised so the same passphrase typed on any OS gives the same key. */
export async function deriveKekFromPassphrase(passphrase: string | Buffer, params: ScryptParams): Promise<Buffer> {
  const pass = typeof passphrase === 'string' ? Buffer.from(passphrase.normalize('NFC'), 'utf8') : passphrase;
  if (pass.length === 0) throw new InvalidArgumentError('the passphrase is empty');
  checkScryptCost(params.N, params.r, params.p);
  const salt = Buffer.from(params.salt, 'base64');
  if (salt.length < SALT_BYTES || salt.toString('base64') !== params.salt) {
    throw new InvalidArgumentError(`the scrypt salt must be base64 of at least ${SALT_BYTES} bytes: the stored KEK record is damaged`);
  }
  return scryptKdf(pass, salt, params.N, params.r, params.p, KEY_BYTES);
}

/**
 * Raw scrypt without pbk's policy checks; exported for the RFC 7914
 * known-answer test (its vectors use empty passwords and short salts).
 */
export function scryptKdf(passphrase: Buffer, salt: Buffer, N: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B; node's default maxmem (32 MiB) is too small for N=2**17.
  const maxmem = 128 * r * (N + 2 + p) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, keyLength, { N, r, p, maxmem }, (err, key) => {
      if (err) reject(new InvalidArgumentError(`scrypt failed (N=${N}, r=${r}, p=${p}): ${err.message}`, { cause: err }));
      else resolve(key);
    });
  });
}

function checkScryptCost(N: number, r: number, p: number): void {
  const isPow2 = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!isPow2 || !Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1 || p > 16) {
    throw new InvalidArgumentError(`invalid scrypt parameters N=${N}, r=${r}, p=${p}: N is a power of two > 1, r >= 1, 1 <= p <= 16`);
  }
  if (128 * N * r > MAX_SCRYPT_MEMORY) {
    throw new InvalidArgumentError(`scrypt parameters N=${N}, r=${r} need more than 1 GiB of memory: refusing (a damaged or tampered KEK record?)`);
  }
}

const VERIFIER_INFO = Buffer.from('pbk kek verifier v1', 'ascii');

/** HMAC-SHA-256(key, "pbk kek verifier v1"): stored in plaintext; reveals nothing about the key. */
export function kekVerifier(key: Buffer): Buffer {
  assertKey(key, 'the KEK');
  return createHmac('sha256', key).update(VERIFIER_INFO).digest();
}

/** Throws WrongKeyError unless `verifier` was made from this KEK. */
export function checkKek(kek: Kek, verifier: Buffer): void {
  assertKek(kek);
  if (verifier.length !== 32) {
    throw new IntegrityError(`verifier of KEK version ${kek.version}`, `the stored verifier for KEK version ${kek.version} is ${verifier.length} bytes, not 32: the KEK record is damaged`);
  }
  if (!timingSafeEqual(kekVerifier(kek.key), verifier)) throw new WrongKeyError(kek.version);
}

async function syncDir(dir: string): Promise<void> {
  // Make the new directory entry durable too; some filesystems refuse fsync on a directory, which is fine.
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
