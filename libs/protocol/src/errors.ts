/**
 * One error mapping across the wire, both directions (kopia's ErrorResponse.Code).
 *
 * Errors in pbk carry a string `code`. A server turns any thrown value into a
 * gRPC status with `toGrpcStatus`; the pbk code rides along in the metadata key
 * `pbk-code`, because several of ours share one gRPC code (CORRUPT and
 * INTEGRITY are both DATA_LOSS). A client turns the status back into a
 * `RemoteError` with the same code and message via `fromGrpcStatus`, so the CLI
 * maps codes to exit codes in one place whatever side of the wire failed.
 */
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';

export const ERROR_CODES = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'NO_SPACE',
  'PERMISSION_DENIED',
  'UNAVAILABLE',
  'CANCELLED',
  'CORRUPT',
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'INTERNAL',
  'WRONG_KEY',
  'INTEGRITY',
  'UNAUTHENTICATED',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Metadata key carrying our code next to the gRPC status (lower case: HTTP/2 header rules). */
export const PBK_CODE_METADATA_KEY = 'pbk-code';

/** grpc-message travels in a header: keep it well below common 8 KiB header limits. */
const MAX_DETAILS_CHARS = 2048;

/** What a generic client (grpcurl, another language) sees for each of our codes. */
const GRPC_CODE_OF: Record<ErrorCode, GrpcStatus> = {
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  // Out of disk is "some resource has been exhausted" in gRPC's words.
  NO_SPACE: GrpcStatus.RESOURCE_EXHAUSTED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  CANCELLED: GrpcStatus.CANCELLED,
  CORRUPT: GrpcStatus.DATA_LOSS,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  INTERNAL: GrpcStatus.INTERNAL,
  // A KEK that does not unwrap is a state to fix (supply the right key), not a bad request.
  WRONG_KEY: GrpcStatus.FAILED_PRECONDITION,
  // An authentication tag or keyed id that does not match: the data cannot be trusted.
  INTEGRITY: GrpcStatus.DATA_LOSS,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
};

/** Our code for a status that came without `pbk-code` (grpc-js itself, a proxy, another implementation). */
const CODE_OF_GRPC: Record<GrpcStatus, ErrorCode> = {
  [GrpcStatus.OK]: 'INTERNAL', // an OK status is never an error; if one is passed here, something is wrong locally
  [GrpcStatus.CANCELLED]: 'CANCELLED',
  [GrpcStatus.UNKNOWN]: 'INTERNAL',
  [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [GrpcStatus.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  // A lost race with a concurrent change: trying the whole operation again is the remedy.
  [GrpcStatus.ABORTED]: 'UNAVAILABLE',
  [GrpcStatus.OUT_OF_RANGE]: 'INVALID_ARGUMENT',
  // The peer runs a version without this method: an upgrade is the fix, not a retry.
  [GrpcStatus.UNIMPLEMENTED]: 'FAILED_PRECONDITION',
  [GrpcStatus.INTERNAL]: 'INTERNAL',
  [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
  [GrpcStatus.DATA_LOSS]: 'CORRUPT',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
};

const ERROR_CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ERROR_CODE_SET.has(value);
}

/** An error raised by this library itself (bad certificate, missing identity, bad input). */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The caller has no usable client certificate (none, unverified, or without a pbk identity). */
export class UnauthenticatedError extends ProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAUTHENTICATED', message, options);
  }
}

/** The caller's certificate is valid but its role or host may not do this. */
export class PermissionDeniedError extends ProtocolError {
  constructor(message: string) {
    super('PERMISSION_DENIED', message);
  }
}

/** A failure reported by the other side of a gRPC call. */
export class RemoteError extends Error {
  /** Our code: from `pbk-code` when the peer sent one, else derived from the gRPC code. */
  readonly code: ErrorCode;
  readonly grpcCode: GrpcStatus;
  readonly metadata: Metadata;
  constructor(code: ErrorCode, grpcCode: GrpcStatus, message: string, metadata: Metadata, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemoteError';
    this.code = code;
    this.grpcCode = grpcCode;
    this.metadata = metadata;
  }
}

/**
 * The shape grpc-js handlers accept as an error: `callback(status)` for unary
 * and client-streaming calls, `call.emit('error', status)` for server streams.
 */
export interface GrpcErrorStatus {
  code: GrpcStatus;
  details: string;
  metadata: Metadata;
}

/** The shape of a grpc-js client error (`ServiceError`), kept structural so tests and proxies can build one. */
export interface GrpcServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

const INTERNAL_DETAILS = 'internal error; the server log has the details';

/**
 * Maps anything thrown by a handler to a gRPC status. Errors with one of our
 * codes keep their message (written for an operator); anything else becomes
 * INTERNAL with a fixed message, so stack traces, SQL or paths never leave the
 * process: log the original error on the server before replying.
 */
export function toGrpcStatus(err: unknown): GrpcErrorStatus {
  const known = classify(err);
  const metadata = new Metadata();
  metadata.set(PBK_CODE_METADATA_KEY, known?.code ?? 'INTERNAL');
  if (known === undefined) return { code: GrpcStatus.INTERNAL, details: INTERNAL_DETAILS, metadata };
  return { code: GRPC_CODE_OF[known.code], details: truncate(known.message), metadata };
}

/** Maps a grpc-js client error (or any status-shaped value) back to a typed `RemoteError`. */
export function fromGrpcStatus(err: GrpcServiceErrorLike): RemoteError {
  const grpcCode = isGrpcStatus(err.code) ? err.code : GrpcStatus.UNKNOWN;
  const metadata = err.metadata instanceof Metadata ? err.metadata : new Metadata();
  const sent = metadata.get(PBK_CODE_METADATA_KEY)[0];
  const sentCode = typeof sent === 'string' ? sent : sent?.toString('utf8');
  const code = isErrorCode(sentCode) ? sentCode : CODE_OF_GRPC[grpcCode];
  // grpc-js puts "<code> <NAME>: <details>" in message; details alone reads better.
  const message = err.details || err.message || `remote call failed with ${GrpcStatus[grpcCode]}`;
  return new RemoteError(code, grpcCode, message, metadata, { cause: err });
}

/** The gRPC code a pbk code travels as. */
export function grpcCodeOf(code: ErrorCode): GrpcStatus {
  return GRPC_CODE_OF[code];
}

/** Retry only what a retry can fix (kopia's isRetriable): never auth, not-found or integrity failures. */
export function isRetriable(err: unknown): boolean {
  return classify(err)?.code === 'UNAVAILABLE';
}

function classify(err: unknown): { code: ErrorCode; message: string } | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { code, message, name } = err as { code?: unknown; message?: unknown; name?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : undefined;
  if (isErrorCode(code)) return { code, message: text ?? code };
  // A grpc-js ServiceError from a nested call (the coordinator calling an agent): keep its meaning.
  if (typeof code === 'number' && 'details' in err && 'metadata' in err) {
    const remote = fromGrpcStatus(err as GrpcServiceErrorLike);
    return { code: remote.code, message: remote.message };
  }
  // AbortSignal-driven cancellation anywhere in Node.
  if (code === 'ABORT_ERR' || name === 'AbortError') return { code: 'CANCELLED', message: text ?? 'the operation was cancelled' };
  return undefined;
}

function isGrpcStatus(code: unknown): code is GrpcStatus {
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16;
}

function truncate(text: string): string {
  return text.length <= MAX_DETAILS_CHARS ? text : `${text.slice(0, MAX_DETAILS_CHARS - 1)}…`;
}
