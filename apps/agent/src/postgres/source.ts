/**
 * One configured PostgreSQL source inside the daemon: two snapshot series
 * (base backups and logical dumps), each with its own run queue and cron
 * trigger (UTC), the WAL stream, and what the source reports in heartbeats
 * (last base backup, role primary/replica, server version, WAL facts).
 *
 * `pbk backup now --source S` runs a base backup; with `--logical` (the
 * command's variant "logical") a logical dump. The catalog keeps the two
 * series apart by the snapshot label `type` (base | logical).
 */
import type { v1 } from '@pbk/protocol';
import { runBackup, type BackupDeps, type BackupModeName } from '../backup/run.js';
import type { Clock } from '../clock.js';
import type { PostgresSourceConfig } from '../config/postgres.js';
import { RunRecord } from '../daemon/run-record.js';
import { armSchedule, recordedQueue, type SnapshotQueue } from '../daemon/scheduled-runs.js';
import type { AgentSource } from '../daemon/source.js';
import { AgentError, codeOf, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CronTrigger } from '../schedule/cron-trigger.js';
import type { QueuedRun, RunRequest } from '../schedule/run-queue.js';
import { produceBaseBackup } from './base-backup.js';
import { withClient } from './connection.js';
import { produceLogicalBackup } from './logical.js';

/** What the source needs of the WAL stream (postgres/wal/): started and stopped with the source, asked for durability. */
export interface WalStream {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  health(): { state: string; detail: string; facts: Record<string, string> };
  /** Resolves once every WAL byte up to `lsn` is durable on the coordinator; rejects after timeoutMs. */
  waitDurable(lsn: string, timeoutMs: number): Promise<unknown>;
  /** wal-push (archive_command fallback, through the daemon's local API): stores one whole WAL file. */
  push?(fileName: string, data: Buffer, signal?: AbortSignal): Promise<{ alreadyHad: boolean }>;
}

export const BACKUP_VARIANTS = ['base', 'logical'] as const;
export type BackupVariant = (typeof BACKUP_VARIANTS)[number];

/** How long a finished base backup waits for its WAL to be durable before it commits anyway (labelled wal_durable=false). */
const WAL_WAIT_MS = 60_000;
/** Role and version are asked of the server at most this often (heartbeats come every 10 s). */
const FACTS_REFRESH_MS = 60_000;

export class PostgresSource implements AgentSource {
  readonly kind = 'SOURCE_KIND_POSTGRES' as const;
  private readonly queues: Record<BackupVariant, SnapshotQueue>;
  private readonly triggers: CronTrigger[] = [];
  private readonly log: Logger;
  private readonly last: Record<BackupVariant, RunRecord>;
  private serverFacts: { at: number; facts: Record<string, string>; problem?: string } | undefined;
  private refreshing = false;

  constructor(
    readonly config: PostgresSourceConfig,
    private readonly deps: BackupDeps,
    private readonly clock: Clock,
    private readonly wal: WalStream | undefined,
  ) {
    this.log = deps.log.child({ source: config.name, kind: 'postgres' });
    this.last = { base: new RunRecord(clock), logical: new RunRecord(clock) };
    const source: v1.SourceRef = { host: deps.host, kind: 'SOURCE_KIND_POSTGRES', name: config.name };
    // Only the stream makes WAL durable on its own; with wal.enabled false (archive_command via
    // wal-push only) the segments arrive when PostgreSQL archives them, so there is nothing to wait for here.
    const waitWal = wal && config.wal.enabled ? (lsn: string, ms: number) => wal.waitDurable(lsn, ms) : undefined;
    const make = (variant: BackupVariant): SnapshotQueue =>
      recordedQueue(
        this.last[variant],
        this.log,
        `${variant} backup`,
        (batch) =>
          runBackup(
            deps,
            {
              source,
              produce: (ctx) =>
                variant === 'base'
                  ? produceBaseBackup(config, { clock, walWaitMs: WAL_WAIT_MS, ...(waitWal ? { waitWal } : {}) }, ctx)
                  : produceLogicalBackup(config, { clock }, ctx),
            },
            // Every PostgreSQL snapshot is a full: pg_basebackup and pg_dump always read everything; dedup keeps the upload small.
            { ...batch, mode: 'BACKUP_MODE_FULL' },
          ),
        { variant },
      );
    this.queues = { base: make('base'), logical: make('logical') };
  }

  get name(): string {
    return this.config.name;
  }

  async start(): Promise<void> {
    const c = this.config;
    const arm = (variant: BackupVariant, schedule: PostgresSourceConfig['baseSchedule']): void => {
      if (!schedule) return;
      const fire = (): void => void this.queues[variant].request('BACKUP_MODE_FULL', { reason: 'schedule' }).result.catch(() => undefined);
      this.triggers.push(armSchedule(schedule, this.clock, this.log, `${variant} backup`, fire, { variant }));
    };
    arm('base', c.baseSchedule);
    arm('logical', c.logicalSchedule);
    if (this.wal) {
      try {
        await this.wal.start();
      } catch (err) {
        // The daemon keeps running (base backups, restores); the heartbeat reports the stream down.
        this.log.error({ err: messageOf(err), code: codeOf(err) }, 'WAL stream did not start');
      }
    }
    void this.refreshFacts();
  }

  backup(mode: BackupModeName, req: RunRequest<v1.Progress>, variant = ''): QueuedRun<v1.SnapshotInfo__Output> {
    const v = variant === '' ? 'base' : variant;
    if (!(BACKUP_VARIANTS as readonly string[]).includes(v)) {
      const err = new AgentError('INVALID_ARGUMENT', `postgres source ${this.name} has no backup variant ${JSON.stringify(variant)}; use base (default) or logical`);
      return { result: Promise.reject(err), cancel: () => undefined };
    }
    return this.queues[v as BackupVariant].request(mode, req);
  }

  coordinatorBack(): void {
    // Base backups are not caught up after an outage: the WAL stream covers the gap; the next schedule takes the next base.
  }

  async stopTriggers(): Promise<void> {
    for (const t of this.triggers) t.stop();
    this.triggers.length = 0;
  }

  async idle(): Promise<void> {
    await Promise.all([this.queues.base.idle(), this.queues.logical.idle()]);
    // The WAL stream has no "idle": it stops with the daemon.
    await this.wal?.stop();
  }

  /** Where the daemon's local API sends wal-push files of this source (undefined without a WAL stream). */
  walPushTarget(): { push(fileName: string, data: Buffer, signal?: AbortSignal): Promise<{ alreadyHad: boolean }> } | undefined {
    const wal = this.wal;
    return wal?.push ? { push: (f, d, sig) => wal.push!(f, d, sig) } : undefined;
  }

  cancelRuns(reason: string): void {
    this.queues.base.stop(reason);
    this.queues.logical.stop(reason);
    void Promise.resolve(this.wal?.stop()).catch(() => undefined);
  }

  health(host: string): v1.SourceHealth {
    const facts: Record<string, string> = {
      running: String(this.queues.base.running || this.queues.logical.running),
    };
    let state = 'ok';
    const details: string[] = [];
    for (const variant of BACKUP_VARIANTS) {
      const { success, failure, failing } = this.last[variant];
      if (success) {
        facts[`last_${variant}_snapshot`] = success.snapshot;
        facts[`last_${variant}_unix_ms`] = String(success.at);
      }
      if (failure && failing) {
        state = 'degraded';
        facts[`last_${variant}_failure_unix_ms`] = String(failure.at);
        details.push(`last ${variant} backup failed: ${failure.code}: ${failure.message}`);
      }
    }
    if (this.wal) {
      const w = this.wal.health();
      for (const [k, v] of Object.entries(w.facts)) if (k !== 'alert') facts[k.startsWith('wal_') ? k : `wal_${k}`] = v;
      // The alert type the coordinator raises for a degraded source (alerts.ts) passes through as it is.
      if (w.facts.alert) facts.alert = w.facts.alert;
      if (w.state !== 'ok') {
        state = w.state === 'down' ? 'down' : state === 'ok' ? 'degraded' : state;
        if (w.detail) details.push(`WAL: ${w.detail}`);
      }
    } else facts.wal_streaming = 'off';
    if (this.serverFacts) {
      Object.assign(facts, this.serverFacts.facts);
      if (this.serverFacts.problem) {
        state = 'down';
        details.push(this.serverFacts.problem);
      }
    }
    const next = this.triggers.map((t) => t.next).filter((n): n is number => n !== undefined);
    if (next.length > 0) facts.next_scheduled_unix_ms = String(Math.min(...next));
    if (this.serverFacts === undefined || this.clock.now() - this.serverFacts.at > FACTS_REFRESH_MS) void this.refreshFacts();
    return { source: { host, kind: 'SOURCE_KIND_POSTGRES', name: this.config.name }, state, detail: details.join('; '), facts };
  }

  /** Role (primary/replica) and server version, asked of the server in the background (heartbeats never wait on SQL). */
  private async refreshFacts(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const row = await withClient(this.config, async (c) => (await c.query<{ rec: boolean; v: string }>("SELECT pg_is_in_recovery() AS rec, current_setting('server_version') AS v")).rows[0]!);
      this.serverFacts = { at: this.clock.now(), facts: { role: row.rec ? 'replica' : 'primary', server_version: row.v } };
    } catch (err) {
      this.serverFacts = { at: this.clock.now(), facts: { role: 'unknown' }, problem: `PostgreSQL unreachable: ${messageOf(err)}` };
    } finally {
      this.refreshing = false;
    }
  }
}
