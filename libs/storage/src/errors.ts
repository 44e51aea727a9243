/**
 * Typed storage errors. Each carries a stable `code` that libs/protocol maps to a
 * gRPC status, and fields an operator can act on. Only apps/cli maps them to exit codes.
 */
export type StorageErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'NO_SPACE'
  | 'PERMISSION_DENIED'
  | 'UNAVAILABLE'
  | 'CANCELLED'
  | 'CORRUPT'
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'INTERNAL';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The named object does not exist in the backend. Never retried. */
export class NotFoundError extends StorageError {
  constructor(readonly objectName: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', `object ${objectName} does not exist in the repository`, options);
  }
}

/** The backend ran out of space; the write left nothing visible behind. */
export class NoSpaceError extends StorageError {
  constructor(readonly objectName: string, options?: { cause?: unknown }) {
    super('NO_SPACE', `no space left while writing ${objectName}: free space on the repository volume and retry (nothing partial was kept)`, options);
  }
}

/** The backend refused access (file mode, credentials). Never retried. */
export class BackendPermissionError extends StorageError {
  constructor(readonly objectName: string, options?: { cause?: unknown }) {
    super('PERMISSION_DENIED', `permission denied on ${objectName}: check the repository's owner and modes`, options);
  }
}

/** A passing backend failure (network, throttling, EAGAIN): the retrying decorator retries these only. */
export class TransientBackendError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** The operation was cancelled by its AbortSignal. */
export class CancelledError extends StorageError {
  constructor(what: string) {
    super('CANCELLED', `${what} was cancelled`);
  }
}

/** A pack failed its hash, framing or decryption check. */
export class PackCorruptError extends StorageError {
  constructor(readonly packId: string, readonly offset: number | undefined, detail: string, options?: { cause?: unknown }) {
    super('CORRUPT', `pack ${packId} is corrupt${offset === undefined ? '' : ` at offset ${offset}`}: ${detail}; run 'pbk verify' and restore the pack from the secondary region or drop it with 'repair'`, options);
  }
}

/** A blob failed to decrypt, or its content does not hash to its id. */
export class BlobCorruptError extends StorageError {
  constructor(readonly blobId: string, readonly packId: string | undefined, readonly detail: string, options?: { cause?: unknown }) {
    super('CORRUPT', `blob ${blobId}${packId ? ` in pack ${packId}` : ''} is corrupt: ${detail}`, options);
  }
}

/** A blob is referenced but not in the index (or its pack is gone). */
export class BlobMissingError extends StorageError {
  constructor(readonly blobId: string, readonly referencedBy?: string) {
    super('NOT_FOUND', `blob ${blobId} is missing from the repository${referencedBy ? ` (referenced by ${referencedBy})` : ''}: run 'pbk verify' to list the damaged snapshots`);
  }
}

/** A metadata object (index, snapshot, key) could not be decoded. */
export class ObjectCorruptError extends StorageError {
  constructor(readonly objectName: string, detail: string, options?: { cause?: unknown }) {
    super('CORRUPT', `repository object ${objectName} is corrupt: ${detail}`, options);
  }
}

/** A tree entry would write outside the restore target (`..`, absolute, separators, symlink escape). */
export class UnsafePathError extends StorageError {
  constructor(readonly entryPath: string, detail: string) {
    super('INVALID_ARGUMENT', `refusing tree entry ${JSON.stringify(entryPath)}: ${detail}; the snapshot's tree is damaged or malicious, nothing was written outside the target`);
  }
}
