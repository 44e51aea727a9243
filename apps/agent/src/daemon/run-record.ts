/**
 * What a source remembers about its runs for heartbeats and catch-up: the
 * last success, the last failure, and whether a run gave up because the
 * coordinator stayed away (the next contact then triggers one more run).
 */
import type { v1 } from '@pbk/protocol';
import type { Clock } from '../clock.js';
import { codeOf, isCoordinatorGone, messageOf } from '../errors.js';

export class RunRecord {
  success: { at: number; snapshot: string } | undefined;
  failure: { at: number; code: string; message: string } | undefined;
  catchUpNeeded = false;

  constructor(private readonly clock: Clock) {}

  succeeded(s: v1.SnapshotInfo__Output): void {
    this.success = { at: this.clock.now(), snapshot: s.id.toString('hex') };
  }

  failed(e: unknown): void {
    this.failure = { at: this.clock.now(), code: codeOf(e), message: messageOf(e) };
    if (isCoordinatorGone(e)) this.catchUpNeeded = true;
  }

  /** The last run failed (a failure newer than any success). */
  get failing(): boolean {
    return this.failure !== undefined && (this.success === undefined || this.failure.at > this.success.at);
  }

  /** True once after a run gave up on an absent coordinator. */
  takeCatchUp(): boolean {
    const due = this.catchUpNeeded;
    this.catchUpNeeded = false;
    return due;
  }
}
