/**
 * Failures the CLI raises itself. Each carries a `code`: one of pbk's
 * (libs/protocol ERROR_CODES) when the failure has a pbk meaning, or one of
 * the CLI's own below. main.ts maps classes and codes to exit codes; nothing
 * else in the CLI decides an exit code.
 */
import type { ErrorCode } from '@pbk/protocol';

/** Codes for failures that never cross the wire; they also appear in `--json` errors. */
export type CliCode = 'USAGE' | 'CREDENTIALS' | 'VERIFY_PROBLEMS' | 'INTERRUPTED';

/** Bad flags, values or commands: the operator must change the command line. */
export class UsageError extends Error {
  readonly code = 'USAGE' as const;
  /** The command whose usage was wrong (e.g. "backup now"), for the help hint. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** The credentials directory is missing, incomplete, insecure or unusable. */
export class CredentialsError extends Error {
  readonly code = 'CREDENTIALS' as const;
  /** The file or directory at fault. */
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialsError';
    this.path = path;
  }
}

/**
 * A failure with a pbk code that the CLI found itself, or refined from a
 * transport failure (the coordinator unreachable, a TLS handshake refused).
 */
export class CommandError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
    this.code = code;
  }
}

/** `pbk verify` ran to the end and found problems (the report has them). */
export class VerifyProblemsError extends Error {
  readonly code = 'VERIFY_PROBLEMS' as const;
  readonly problems: number;
  constructor(problems: number) {
    super(`verify found ${problems} problem${problems === 1 ? '' : 's'} in the repository`);
    this.name = 'VerifyProblemsError';
    this.problems = problems;
  }
}

/**
 * `pbk validate` ran and a check failed (the report has which). The same exit
 * (7) and code as verify: checks ran to the end and found a problem.
 */
export class ValidationFailedError extends VerifyProblemsError {
  constructor(failed: string[]) {
    super(failed.length);
    this.message = `validation failed: ${failed.join(', ')}`;
    this.name = 'ValidationFailedError';
  }
}

/** Ctrl-C: the call in flight was cancelled. */
export class InterruptedError extends Error {
  readonly code = 'INTERRUPTED' as const;
  constructor() {
    super('interrupted: the call was cancelled');
    this.name = 'InterruptedError';
  }
}
