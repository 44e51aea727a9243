/**
 * Failures of a redis source, each with what an operator needs to act.
 * None uses UNAVAILABLE or DEADLINE_EXCEEDED: backup/run.ts resumes a run on
 * those (they mean "the coordinator went away"), and a Redis that is down or
 * a dump that failed is not fixed by waiting for the coordinator.
 */
import { AgentError } from '../errors.js';

/** Redis cannot be reached, refused our credentials, or answered unexpectedly. */
export class RedisSourceError extends AgentError {
  readonly address: string;
  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super('FAILED_PRECONDITION', message, options);
    this.address = address;
  }
}

/** BGSAVE failed (Redis's reason attached) or did not finish in time. */
export class BgsaveFailedError extends RedisSourceError {
  /** What Redis said: the reply, or the warning its log gained. */
  readonly reason: string;
  constructor(address: string, reason: string, message: string) {
    super(address, message);
    this.reason = reason;
  }
}

/** The RDB file read is not (or no longer) the dump BGSAVE produced, or not an RDB at all. */
export class RdbFileError extends AgentError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown; code?: 'FAILED_PRECONDITION' | 'CORRUPT' | 'NOT_FOUND' }) {
    super(options?.code ?? 'FAILED_PRECONDITION', message, options);
    this.path = path;
  }
}
