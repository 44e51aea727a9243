/**
 * One configured redis source inside the daemon: a RunQueue (one dump at a
 * time; requests during a dump coalesce into one more), a CronTrigger
 * (hourly by default, UTC) and what it reports in heartbeats. A failed dump
 * is logged at error level and turns the source `degraded` with the reason
 * until the next dump succeeds; the coordinator records the failed run
 * (AbortBackup) and shows it in `pbk status`.
 */
import type { v1 } from '@pbk/protocol';
import type { BackupDeps, BackupModeName } from '../backup/run.js';
import type { Clock } from '../clock.js';
import type { RedisSourceConfig } from '../config/redis.js';
import { RunRecord } from '../daemon/run-record.js';
import { armSchedule, recordFacts, recordedQueue, type SnapshotQueue } from '../daemon/scheduled-runs.js';
import type { AgentSource } from '../daemon/source.js';
import type { Logger } from '../logger.js';
import type { CronTrigger } from '../schedule/cron-trigger.js';
import type { QueuedRun, RunRequest } from '../schedule/run-queue.js';
import { runRedisBackup, type RedisFacts } from './backup.js';

export class RedisSource implements AgentSource {
  readonly kind = 'SOURCE_KIND_REDIS' as const;
  private readonly queue: SnapshotQueue;
  private readonly log: Logger;
  private trigger: CronTrigger | undefined;
  private readonly record: RunRecord;
  /** What the last dump learnt (RDB path, appendonly), for restores --into while Redis is stopped. */
  facts: RedisFacts | undefined;

  constructor(
    readonly config: RedisSourceConfig,
    deps: BackupDeps,
    private readonly clock: Clock,
  ) {
    this.log = deps.log.child({ source: config.name, kind: 'redis' });
    this.record = new RunRecord(clock);
    const logFields = { address: config.address };
    this.queue = recordedQueue(this.record, this.log, 'redis backup', (batch) => runRedisBackup(deps, config, batch, (f) => (this.facts = f)), logFields);
  }

  get name(): string {
    return this.config.name;
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.schedule) this.trigger = armSchedule(c.schedule, this.clock, this.log, 'RDB dump', () => this.background('schedule'), { address: c.address });
    if (c.backupOnStart) this.background('start');
  }

  backup(mode: BackupModeName, req: RunRequest<v1.Progress>): QueuedRun<v1.SnapshotInfo__Output> {
    return this.queue.request(mode, req);
  }

  coordinatorBack(): void {
    if (!this.record.takeCatchUp()) return;
    this.log.info('coordinator reachable again; dumping again for the run that gave up');
    this.background('catch-up');
  }

  async stopTriggers(): Promise<void> {
    this.trigger?.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  cancelRuns(reason: string): void {
    this.queue.stop(reason);
  }

  health(host: string): v1.SourceHealth {
    const { failure, failing } = this.record;
    const facts: Record<string, string> = { running: String(this.queue.running), address: this.config.address };
    recordFacts(this.record, facts);
    if (failure) {
      facts.last_failure_code = failure.code;
      // The coordinator raises this alert type when the heartbeat says degraded (alerts.ts sourceState).
      if (failing) facts.alert = 'BACKUP_FAILED';
    }
    if (this.facts) facts.rdb_file = this.facts.rdbFile;
    if (this.trigger?.next !== undefined) facts.next_scheduled_unix_ms = String(this.trigger.next);
    return {
      source: { host, kind: 'SOURCE_KIND_REDIS', name: this.config.name },
      state: failing ? 'degraded' : 'ok',
      detail: failing ? `last dump failed: ${failure!.code}: ${failure!.message}` : '',
      facts,
    };
  }

  private background(reason: string): void {
    // A full every time: an RDB is always the whole dataset; dedup keeps the upload to what changed.
    this.backup('BACKUP_MODE_FULL', { reason }).result.catch(() => undefined);
  }
}
