/**
 * What every source kind does the same way around its runs: a run queue whose
 * outcomes land in a RunRecord (failures logged once, at error level, unless
 * cancelled), cron triggers that log when they are armed and when they fire,
 * and the heartbeat facts of a record.
 */
import type { v1 } from '@pbk/protocol';
import { mergeModes, type BackupModeName } from '../backup/run.js';
import type { Clock } from '../clock.js';
import { codeOf, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { CronTrigger } from '../schedule/cron-trigger.js';
import type { CronSchedule } from '../schedule/cron.js';
import { RunQueue, type RunBatch } from '../schedule/run-queue.js';
import type { RunRecord } from './run-record.js';

export type SnapshotQueue = RunQueue<BackupModeName, v1.SnapshotInfo__Output, v1.Progress>;

/** One run at a time (requests during a run coalesce into one more); each outcome is kept in `record`. */
export function recordedQueue(
  record: RunRecord,
  log: Logger,
  what: string,
  run: (batch: RunBatch<BackupModeName, v1.Progress>) => Promise<v1.SnapshotInfo__Output>,
  logFields: Record<string, unknown> = {},
): SnapshotQueue {
  return new RunQueue(async (batch) => {
    try {
      const snapshot = await run(batch);
      record.succeeded(snapshot);
      return snapshot;
    } catch (err) {
      record.failed(err);
      if (codeOf(err) !== 'CANCELLED') log.error({ ...logFields, code: codeOf(err), err: messageOf(err) }, `${what} failed`);
      throw err;
    }
  }, mergeModes);
}

/** Starts a cron trigger (UTC) for `what`; `fire` starts the run (its failures are the queue's to record). */
export function armSchedule(schedule: CronSchedule, clock: Clock, log: Logger, what: string, fire: () => void, logFields: Record<string, unknown> = {}): CronTrigger {
  const trigger = new CronTrigger(schedule, clock, (at) => {
    log.info({ ...logFields, scheduledFor: new Date(at).toISOString() }, `scheduled ${what}`);
    fire();
  });
  trigger.start();
  log.info({ ...logFields, schedule: schedule.text, next: new Date(trigger.next ?? 0).toISOString() }, 'schedule armed (UTC)');
  return trigger;
}

/** The heartbeat facts of a single-series source's record: last snapshot, success and failure times. */
export function recordFacts(record: RunRecord, facts: Record<string, string>): void {
  const { success, failure } = record;
  if (success) {
    facts.last_snapshot = success.snapshot;
    facts.last_success_unix_ms = String(success.at);
  }
  if (failure) facts.last_failure_unix_ms = String(failure.at);
}
