/**
 * Typed crypto errors. Each carries a stable `code` (libs/protocol maps it to a
 * gRPC status, apps/cli to an exit code) and fields an operator can act on.
 * Messages never include key material.
 */
export type CryptoErrorCode = 'WRONG_KEY' | 'INTEGRITY' | 'INVALID_ARGUMENT' | 'KEY_FILE';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The KEK (or passphrase, or escrow private key) supplied does not open this
 * object: a verifier mismatch, or a wrapped key that fails to unwrap.
 * `kekVersion` is the KEK version the object needs.
 */
export class WrongKeyError extends CryptoError {
  readonly kekVersion: number;
  constructor(kekVersion: number, message?: string, options?: { cause?: unknown }) {
    super(
      'WRONG_KEY',
      message ??
        `the key supplied is not KEK version ${kekVersion}: check the key file, the KEK environment variable or the passphrase configured for KEK version ${kekVersion}`,
      options,
    );
    this.kekVersion = kekVersion;
  }
}

/**
 * Authenticated data failed its check: the ciphertext, tag, nonce or
 * associated data was altered, truncated, or the object was moved to another
 * id. `what` names the object (e.g. "blob 3fa2...").
 */
export class IntegrityError extends CryptoError {
  readonly what: string;
  constructor(what: string, message?: string, options?: { cause?: unknown }) {
    super(
      'INTEGRITY',
      message ??
        `${what} failed its integrity check: it was altered, truncated or moved to another id; restore it from another copy (replica region) and run \`pbk verify\``,
      options,
    );
    this.what = what;
  }
}

/** A key file is missing, malformed, or readable by group/other. */
export class KeyFileError extends CryptoError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('KEY_FILE', message, options);
    this.path = path;
  }
}

/** A caller passed a value the crypto layer cannot use (wrong key length, unsupported key type, ...). */
export class InvalidArgumentError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}
