/**
 * Failures the agent raises itself. Each carries a pbk `code` (libs/protocol
 * ERROR_CODES) so it travels to the coordinator unchanged inside a `Failure`
 * (a command that failed) and so main.ts can map it to an exit code; the
 * classes add the fields an operator needs to fix the cause.
 */
import { isErrorCode, type ErrorCode } from '@pbk/protocol';

export class AgentError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad command line: unknown command or flag, missing value. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** The config file is unreadable or invalid; `field` names the bad field (`sources[1].paths[0]`). */
export class ConfigError extends AgentError {
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, field: string | undefined, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `config ${file}: ${field === undefined ? '' : `${field}: `}${message}`, options);
    this.file = file;
    this.field = field;
  }
}

/** The enrollment token cannot be used (malformed, or expired by our clock). */
export class TokenError extends AgentError {}

/** The state dir (enroll --state) is missing, incomplete or insecure. */
export class StateError extends AgentError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? 'FAILED_PRECONDITION', message, options);
    this.path = path;
  }
}

/** The pbk code of anything thrown (our errors, RemoteError, StorageError, CryptoError...), INTERNAL when none. */
export function codeOf(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrorCode(code)) return code;
  // Node's AbortSignal-driven cancellation.
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return 'CANCELLED';
  return 'INTERNAL';
}

/** A message safe to send to the coordinator and to log: ours as written, anything else by its message. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a failed command or run reports inside a message (`Failure` in common.proto). */
export function failureOf(err: unknown): { code: ErrorCode; message: string } {
  return { code: codeOf(err), message: messageOf(err) };
}

/**
 * Failures that mean "the coordinator went away or did not answer in time": a
 * backup run is resumed (resume_run_id) after these, anything else aborts it.
 */
export function isCoordinatorGone(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED';
}
