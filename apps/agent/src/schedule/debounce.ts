/**
 * Turns a burst of file-change events into one trigger. A trigger fires once
 * no change has arrived for `debounceMs` (an editor's save, a package upgrade
 * writing many files) or, under changes that never pause (a log rotated every
 * second into a watched tree), `maxDelayMs` after the first change of the
 * burst, so continuous churn still gets backed up. Changes after a trigger
 * start a new burst.
 */
import type { Clock, TimerHandle } from '../clock.js';

export interface DebounceOptions {
  debounceMs: number;
  maxDelayMs: number;
}

export interface ChangeBurst {
  /** Change events coalesced into this trigger. */
  changes: number;
  /** Distinct paths among them (counted up to SAMPLE_LIMIT). */
  paths: number;
  /** A few of the changed paths, for the log. */
  sample: string[];
  firstAt: number;
  lastAt: number;
}

const SAMPLE_LIMIT = 1000;
const SAMPLE_LOGGED = 5;

export class ChangeDebouncer {
  private burst: { changes: number; paths: Set<string>; firstAt: number; lastAt: number } | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly options: DebounceOptions,
    private readonly clock: Clock,
    private readonly onTrigger: (burst: ChangeBurst) => void,
  ) {}

  /** Records one change event (a path added, changed or removed). */
  change(path: string): void {
    if (this.stopped) return;
    const now = this.clock.now();
    if (this.burst === undefined) this.burst = { changes: 0, paths: new Set(), firstAt: now, lastAt: now };
    const b = this.burst;
    b.changes++;
    b.lastAt = now;
    if (b.paths.size < SAMPLE_LIMIT) b.paths.add(path);
    this.arm();
  }

  /** Whether changes are waiting for their trigger. */
  get pending(): boolean {
    return this.burst !== undefined;
  }

  /** Drops pending changes and never triggers again. */
  stop(): void {
    this.stopped = true;
    this.burst = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const b = this.burst;
    if (b === undefined) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const due = Math.min(b.lastAt + this.options.debounceMs, b.firstAt + this.options.maxDelayMs);
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const b = this.burst;
    if (b === undefined || this.stopped) return;
    this.burst = undefined;
    this.onTrigger({ changes: b.changes, paths: b.paths.size, sample: [...b.paths].slice(0, SAMPLE_LOGGED), firstAt: b.firstAt, lastAt: b.lastAt });
  }
}
