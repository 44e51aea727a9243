/**
 * Exponential backoff with jitter for reconnects and run resumes: the delay
 * doubles from `initialMs` up to `maxMs`, and each wait is drawn from the
 * upper half of the current step ("equal jitter"), so a fleet of agents that
 * lost the same coordinator does not come back in lock-step, yet no retry is
 * ever immediate.
 */
import { RECONNECT_BACKOFF } from '@pbk/protocol';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** [0, 1); injected for tests. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions = RECONNECT_BACKOFF) {
    this.random = options.random ?? Math.random;
  }

  /** The next delay in ms. */
  next(): number {
    const step = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  /** After a success: the next failure starts from initialMs again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
