/**
 * One configured files source inside the daemon: its run queue (one run at a
 * time, changes during a run schedule one more), its cron trigger (full
 * snapshots, UTC), its watcher (debounced, coalesced incremental snapshots)
 * and what it reports in heartbeats.
 */
import type { v1 } from '@pbk/protocol';
import type { Clock } from '../clock.js';
import type { FilesSourceConfig } from '../config/config.js';
import { runFilesBackup, type BackupModeName, type FilesBackupDeps } from '../files/backup.js';
import { watchPaths, type PathWatcher } from '../files/watcher.js';
import type { Logger } from '../logger.js';
import type { CronTrigger } from '../schedule/cron-trigger.js';
import { ChangeDebouncer } from '../schedule/debounce.js';
import type { QueuedRun, RunRequest } from '../schedule/run-queue.js';
import { RunRecord } from './run-record.js';
import { armSchedule, recordFacts, recordedQueue, type SnapshotQueue } from './scheduled-runs.js';

export type SourceKindWire = 'SOURCE_KIND_FILES' | 'SOURCE_KIND_POSTGRES' | 'SOURCE_KIND_REDIS';

/** What the daemon needs of any configured source, whatever its kind (daemon/kinds.ts makes them). */
export interface AgentSource {
  readonly name: string;
  readonly kind: SourceKindWire;
  /** Starts schedules, watchers and background streams. */
  start(): Promise<void>;
  /**
   * A backup asked for by a command; the result is that run's snapshot.
   * `variant` picks one of the kind's snapshot series (BackupCommand.variant;
   * PostgreSQL: base or logical); kinds with one series ignore it.
   */
  backup(mode: BackupModeName, req: RunRequest<v1.Progress>, variant?: string): QueuedRun<v1.SnapshotInfo__Output>;
  /** The coordinator answers again after an outage. */
  coordinatorBack(): void;
  /** Stops triggers; no new runs start by themselves. */
  stopTriggers(): Promise<void>;
  /** Resolves when no run is going on or pending. */
  idle(): Promise<void>;
  /** Cancels the current run and drops the pending one (also stops background streams). */
  cancelRuns(reason: string): void;
  health(host: string): v1.SourceHealth;
  /** PostgreSQL sources: where wal-push (the daemon's local API) sends archive_command's files. */
  walPushTarget?(): { push(fileName: string, data: Buffer, signal?: AbortSignal): Promise<{ alreadyHad: boolean }> } | undefined;
}

export class FilesSource implements AgentSource {
  readonly kind = 'SOURCE_KIND_FILES' as const;
  private readonly queue: SnapshotQueue;
  private readonly log: Logger;
  private trigger: CronTrigger | undefined;
  private debouncer: ChangeDebouncer | undefined;
  private watcher: PathWatcher | undefined;
  private watchProblem: string | undefined;
  private readonly record: RunRecord;

  constructor(
    readonly config: FilesSourceConfig,
    deps: FilesBackupDeps,
    private readonly clock: Clock,
  ) {
    this.log = deps.log.child({ source: config.name });
    this.record = new RunRecord(clock);
    this.queue = recordedQueue(this.record, this.log, 'backup run', (batch) => runFilesBackup(deps, config, batch));
  }

  get name(): string {
    return this.config.name;
  }

  /** Starts the schedule and the watcher, and the catch-up run. */
  async start(): Promise<void> {
    const c = this.config;
    if (c.schedule) this.trigger = armSchedule(c.schedule, this.clock, this.log, 'full snapshot', () => this.background('BACKUP_MODE_FULL', 'schedule'));
    if (c.watch) {
      this.debouncer = new ChangeDebouncer({ debounceMs: c.debounceMs, maxDelayMs: c.maxDelayMs }, this.clock, (burst) => {
        this.log.debug({ changes: burst.changes, paths: burst.paths, sample: burst.sample }, 'changes settled');
        this.background('BACKUP_MODE_INCREMENTAL', 'watch');
      });
      this.watcher = watchPaths(c.paths, c.selection, {
        onChange: (path) => this.debouncer?.change(path),
        onError: (err) => {
          const code = (err as NodeJS.ErrnoException).code;
          this.watchProblem =
            code === 'ENOSPC' ? 'out of inotify watches: raise fs.inotify.max_user_watches (sysctl) or exclude large trees' : `watcher error: ${err.message}`;
          this.log.warn({ err: err.message, code }, 'file watcher problem; scheduled snapshots still run');
        },
      });
      await this.watcher.ready;
      this.log.info({ paths: c.paths }, 'watching for changes');
    }
    if (c.backupOnStart) this.background('BACKUP_MODE_INCREMENTAL', 'start');
  }

  /** A backup asked for by a command; the result is that run's snapshot. */
  backup(mode: BackupModeName, req: RunRequest<v1.Progress>): QueuedRun<v1.SnapshotInfo__Output> {
    return this.queue.request(mode, req);
  }

  /**
   * The coordinator answers again (a heartbeat got through). If a run gave up
   * while it was away, one incremental run now picks up what that run carried.
   */
  coordinatorBack(): void {
    // A run gave up because the coordinator stayed away: the changes it carried still need a snapshot.
    if (!this.record.takeCatchUp()) return;
    this.log.info('coordinator reachable again; catching up on the run that gave up');
    this.background('BACKUP_MODE_INCREMENTAL', 'catch-up');
  }

  /** Stops triggers (no new runs are started by the schedule or the watcher). */
  async stopTriggers(): Promise<void> {
    this.trigger?.stop();
    this.debouncer?.stop();
    await this.watcher?.close();
    this.watcher = undefined;
  }

  /** Resolves when no run is going on or pending. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Cancels the current run and drops the pending one. */
  cancelRuns(reason: string): void {
    this.queue.stop(reason);
  }

  health(host: string): v1.SourceHealth {
    const { failure, failing } = this.record;
    const state = failing || this.watchProblem ? 'degraded' : 'ok';
    const detail = failing ? `last run failed: ${failure!.code}: ${failure!.message}` : (this.watchProblem ?? '');
    const facts: Record<string, string> = { running: String(this.queue.running), watch: String(this.config.watch) };
    recordFacts(this.record, facts);
    if (this.record.catchUpNeeded) facts.catch_up_pending = 'true';
    if (this.trigger?.next !== undefined) facts.next_scheduled_unix_ms = String(this.trigger.next);
    return { source: { host, kind: 'SOURCE_KIND_FILES', name: this.config.name }, state, detail, facts };
  }

  private background(mode: BackupModeName, reason: string): void {
    // Failures are logged by the run itself and kept for the heartbeat.
    this.backup(mode, { reason }).result.catch(() => undefined);
  }
}
