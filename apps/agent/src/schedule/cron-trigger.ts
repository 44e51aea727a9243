/**
 * Fires a callback at every minute a CronSchedule matches (UTC). Timers are
 * armed at most MAX_SLEEP_MS ahead and the next time recomputed from the
 * clock on each wake, so a suspended host, a clock step or a very distant
 * next match never makes the trigger drift or overflow setTimeout. A wake that
 * finds it missed one or more times fires once, not once per missed time.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { CronSchedule } from './cron.js';

const MAX_SLEEP_MS = 60 * 60 * 1000;

export class CronTrigger {
  private timer: TimerHandle | undefined;
  private due: number | undefined;
  private stopped = true;

  constructor(
    private readonly schedule: CronSchedule,
    private readonly clock: Clock,
    private readonly onFire: (scheduledAt: number) => void,
  ) {}

  /** When the trigger fires next (unix ms), or undefined when stopped or never. */
  get next(): number | undefined {
    return this.due;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.due = this.schedule.next(this.clock.now());
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.due = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.stopped || this.due === undefined) return;
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, this.due - this.clock.now()));
    this.timer = this.clock.setTimeout(() => this.wake(), wait);
  }

  private wake(): void {
    this.timer = undefined;
    if (this.stopped || this.due === undefined) return;
    const now = this.clock.now();
    if (now >= this.due) {
      const firedFor = this.due;
      this.due = this.schedule.next(Math.max(now, firedFor));
      this.onFire(firedFor);
    }
    this.arm();
  }
}
