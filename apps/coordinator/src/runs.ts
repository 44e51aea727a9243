/**
 * Open backup runs in memory: the run's DEK (so uploads can be checked
 * without unwrapping it each time), the blob ids it claimed through
 * MissingBlobs (released when it aborts, commits or goes silent), and when it
 * was last heard from. The catalog's `backup_runs` row is the record; this is
 * rebuilt from it on demand after a coordinator restart, so an agent carries
 * on with the same run id and DEK.
 */
import type { Dek } from '@pbk/crypto';
import type { Logger, Repository, SourceRef } from '@pbk/storage';
import type { BackupRun, Catalog } from './catalog/index.js';
import { CoordinatorError } from './errors.js';
import { runIdToWire, sourceLabel, type RunMode } from './convert.js';
import type { Metrics } from './metrics.js';
import { Mutex } from './util/mutex.js';

export interface OpenRun {
  id: string;
  wireId: Buffer;
  source: SourceRef;
  mode: RunMode;
  dek: Dek;
  /** Parent snapshot (hex) handed out at BeginBackup; unknown after a restart. */
  parent: string | undefined;
  startedAt: Date;
  /** Ids this run was told to upload (latin1 keys) and has not uploaded yet. */
  claims: Set<string>;
  lastActivityMs: number;
  /** Serializes commit and abort of this run. */
  lock: Mutex;
  /** A WAL run (docs/postgres.md): lives as long as the source streams, so the idle sweep leaves it open. */
  walStream: boolean;
  /** Sealed bytes stored for this run (SnapshotStats.stored_bytes); upload streams also add theirs to the catalog row as they end. */
  storedBytes: number;
}

export interface RunRegistryOptions {
  catalog: Catalog;
  repo: Repository;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  idleTimeoutMs: number;
}

export class RunRegistry {
  readonly #runs = new Map<string, OpenRun>();
  readonly #loading = new Map<string, Promise<OpenRun>>();
  /** Runs left `running` in the catalog by an earlier process, with when this process first saw them. */
  readonly #dormant = new Map<string, number>();

  constructor(private readonly opts: RunRegistryOptions) {}

  get size(): number {
    return this.#runs.size;
  }

  /** At start: runs an earlier process left open get the idle timeout to be resumed. */
  async adoptLeftovers(): Promise<number> {
    const now = this.opts.now().getTime();
    const running = await this.opts.catalog.runs.listRunning();
    // WAL runs stay open across restarts: the agent resumes them whenever it comes back.
    for (const r of running) if (!r.walStream) this.#dormant.set(r.id, now);
    return running.length;
  }

  add(run: BackupRun, dek: Dek, parent: string | undefined): OpenRun {
    const open: OpenRun = {
      id: run.id,
      wireId: runIdToWire(run.id),
      source: run.source,
      mode: run.mode,
      dek,
      parent,
      startedAt: run.startedAt,
      claims: new Set(),
      lastActivityMs: this.opts.now().getTime(),
      lock: new Mutex(),
      walStream: run.walStream,
      storedBytes: run.bytesStored ?? 0,
    };
    this.#runs.set(run.id, open);
    this.#dormant.delete(run.id);
    return open;
  }

  /**
   * The open run `id` of `host`: from memory, or rebuilt from the catalog
   * (after a restart). NOT_FOUND, PERMISSION_DENIED (another host's run) or
   * FAILED_PRECONDITION (the run is finished) otherwise.
   */
  async get(host: string, id: string): Promise<OpenRun> {
    const mem = this.#runs.get(id);
    if (mem !== undefined) {
      this.#checkHost(host, mem.source, id);
      mem.lastActivityMs = this.opts.now().getTime();
      return mem;
    }
    const row = await this.opts.catalog.runs.get(id);
    if (row === undefined) throw new CoordinatorError('NOT_FOUND', `no backup run ${id}: begin a new run (BeginBackup)`);
    this.#checkHost(host, row.source, id);
    if (row.state !== 'running') {
      throw new CoordinatorError('FAILED_PRECONDITION', `backup run ${id} is already ${row.state}: begin a new run (BeginBackup)`);
    }
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = (async () => {
        const dek = await this.opts.repo.keys.dek(Buffer.from(row.dekId, 'hex'));
        return this.#runs.get(id) ?? this.add(row, dek, undefined);
      })().finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    const run = await loading;
    run.lastActivityMs = this.opts.now().getTime();
    return run;
  }

  /** Records which ids the run must upload (MissingBlobs answered "missing"). */
  claim(run: OpenRun, ids: readonly Buffer[], missing: readonly boolean[]): void {
    ids.forEach((id, i) => {
      if (missing[i]) run.claims.add(id.toString('latin1'));
    });
  }

  uploaded(run: OpenRun, id: Buffer): void {
    run.claims.delete(id.toString('latin1'));
  }

  /** True when an open run other than `run` claimed the id: it is (probably) being uploaded right now. */
  claimedElsewhere(run: OpenRun, id: Buffer): boolean {
    const k = id.toString('latin1');
    for (const r of this.#runs.values()) if (r !== run && r.claims.has(k)) return true;
    return false;
  }

  /** Drops the run from memory and releases the claims it never used. */
  finish(run: OpenRun): void {
    this.#release(run);
    this.#runs.delete(run.id);
  }

  /** Abandons runs nobody has heard from for the idle timeout (claims released, catalog updated). */
  async sweep(): Promise<void> {
    const now = this.opts.now().getTime();
    const limit = this.opts.idleTimeoutMs;
    for (const run of [...this.#runs.values()]) {
      if (now - run.lastActivityMs < limit) continue;
      if (run.walStream) {
        // Never abandoned (the agent may be down for a day and must find it again); only its claims are released.
        this.#release(run);
        continue;
      }
      this.finish(run);
      await this.#abandon(run.id, sourceLabel(run.source));
    }
    for (const [id, since] of [...this.#dormant]) {
      if (now - since < limit || this.#runs.has(id)) continue;
      this.#dormant.delete(id);
      await this.#abandon(id, 'left open by an earlier coordinator process');
    }
  }

  async #abandon(id: string, what: string): Promise<void> {
    try {
      await this.opts.catalog.runs.markAbandoned(id, `no word from the agent for ${Math.round(this.opts.idleTimeoutMs / 60000)} min`);
      this.opts.metrics.backupsFailed++;
      this.opts.logger.warn({ run: id, what }, 'backup run abandoned: the agent went silent');
    } catch (err) {
      this.opts.logger.warn({ run: id, err: (err as Error).message }, 'could not mark an idle run abandoned');
    }
  }

  #release(run: OpenRun): void {
    if (run.claims.size === 0) return;
    this.opts.repo.releaseClaims([...run.claims].map((k) => Buffer.from(k, 'latin1')));
    run.claims.clear();
  }

  #checkHost(host: string, source: SourceRef, id: string): void {
    if (source.host !== host) {
      throw new CoordinatorError('PERMISSION_DENIED', `backup run ${id} belongs to host ${source.host}, not ${host}: an agent may use only its own runs`);
    }
  }
}
