/**
 * Typed catalog errors. Each carries a stable string `code` (libs/protocol maps
 * it to a gRPC status, apps/cli to an exit code) and a message an operator can
 * act on. Messages travel to clients as they are, so they never carry SQL text,
 * query parameters, token secrets or database passwords.
 */
export type CatalogErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'PERMISSION_DENIED'
  | 'INVALID_ARGUMENT'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'UNAUTHENTICATED';

export class CatalogError extends Error {
  readonly code: CatalogErrorCode;
  constructor(code: CatalogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The catalog database cannot be reached or is shutting down; retrying later may work. */
export class CatalogUnavailableError extends CatalogError {
  /** Where the catalog lives, with any password redacted. */
  readonly location: string;
  constructor(location: string, detail: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', `catalog database ${location} is unavailable: ${detail}`, options);
    this.location = location;
  }
}

/** A statement failed in the database; `sqlState` is PostgreSQL's five-character error code. */
export class CatalogQueryError extends CatalogError {
  readonly sqlState: string | undefined;
  constructor(code: CatalogErrorCode, sqlState: string | undefined, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.sqlState = sqlState;
  }
}

/** The database was migrated by a newer pbk-coordinator than this one. */
export class SchemaTooNewError extends CatalogError {
  readonly databaseVersion: number;
  readonly codeVersion: number;
  constructor(location: string, databaseVersion: number, codeVersion: number) {
    super(
      'FAILED_PRECONDITION',
      `catalog ${location} has schema version ${databaseVersion} but this pbk-coordinator knows versions up to ${codeVersion}: ` +
        'upgrade pbk-coordinator to the release that wrote it (older code must not write a newer schema)',
    );
    this.databaseVersion = databaseVersion;
    this.codeVersion = codeVersion;
  }
}

/** Why an enrollment token was refused; each reason has its own remedy. */
export type TokenRefusal = 'already used' | 'expired' | 'unknown' | 'revoked' | 'wrong host';

/**
 * An enrollment token was refused. The message names the reason but never the
 * token nor (for a wrong host) the host it was issued for.
 */
export class EnrollmentTokenError extends CatalogError {
  readonly reason: TokenRefusal;
  constructor(reason: TokenRefusal) {
    const remedy = "ask an operator for a new one ('pbk-coordinator token --host NAME')";
    const message: Record<TokenRefusal, string> = {
      'already used': `enrollment token already used (tokens work once): ${remedy}`,
      expired: `enrollment token expired: ${remedy}`,
      unknown: `enrollment token unknown: check that it was copied whole, or ${remedy}`,
      revoked: `enrollment token revoked by an operator: ${remedy}`,
      'wrong host': `enrollment token was issued for another host: enroll under the host name it was issued for, or ${remedy}`,
    };
    super('UNAUTHENTICATED', message[reason]);
    this.reason = reason;
  }
}

/** A row the caller named does not exist. */
export class CatalogNotFoundError extends CatalogError {
  constructor(readonly what: string, readonly key: string) {
    super('NOT_FOUND', `no ${what} ${JSON.stringify(key)} in the catalog`);
  }
}
