/**
 * Typed errors of the coordinator itself. Each carries one of the pbk codes
 * (libs/protocol ERROR_CODES), so `toGrpcStatus` maps it across the wire with
 * its message intact: messages are written for an operator and say what to do.
 */
import type { ErrorCode } from '@pbk/protocol';

export class CoordinatorError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A command line the coordinator cannot run (unknown flag, missing value): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
