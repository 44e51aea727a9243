/**
 * Backup runs (table `backup_runs`): one row per attempt to back up a source,
 * from `begin` (state running) to committed, failed or abandoned (the
 * coordinator restarted and the agent never came back for it). Outcomes feed
 * BACKUP_FAILED and BACKUP_RELIABILITY (DESIGN decision 13) through
 * `successRate`, `lastSuccess` and `lastFailure`.
 */
import { randomUUID } from 'node:crypto';
import type { SourceRef } from '@pbk/storage';
import type { SqlDb } from './db.js';
import { CatalogError, CatalogNotFoundError } from './errors.js';
import {
  assertSource,
  assertText,
  iso,
  isUuid,
  toDate,
  toNumber,
  toOptionalDate,
  toOptionalNumber,
  toOptionalString,
} from './values.js';

export type RunState = 'running' | 'committed' | 'failed' | 'abandoned';
export type BackupMode = 'full' | 'incremental';

export interface BackupRun {
  id: string;
  source: SourceRef;
  mode: BackupMode;
  /** The fresh DEK of this run (DESIGN decision 3), hex. */
  dekId: string;
  state: RunState;
  startedAt: Date;
  finishedAt: Date | undefined;
  bytesTotal: number | undefined;
  bytesNew: number | undefined;
  files: number | undefined;
  /** Sealed bytes stored for the run so far (delta blobs at their delta size); undefined for runs from before it was counted. */
  bytesStored: number | undefined;
  snapshotId: string | undefined;
  errorCode: string | undefined;
  errorMessage: string | undefined;
  /** How many times the agent reconnected and carried on with this run. */
  resumedCount: number;
  /** A PostgreSQL source's WAL run: never committed, never abandoned for idleness (docs/postgres.md). */
  walStream: boolean;
}

export interface BeginRun {
  source: SourceRef;
  mode: BackupMode;
  dekId: string;
  /** Defaults to a random UUID. */
  id?: string;
  /** Opens the source's WAL run (at most one running per source). */
  walStream?: boolean;
}

export interface RunSummary {
  snapshotId: string;
  bytesTotal: number;
  bytesNew: number;
  files: number;
  bytesStored: number;
}

export interface SuccessRate {
  committed: number;
  /** Failed and abandoned runs. */
  failed: number;
  total: number;
  /** committed / total; undefined when no run finished in the window. */
  rate: number | undefined;
}

/** Error messages are kept whole up to this size: enough for a stack of causes, not a log dump. */
const MAX_ERROR_MESSAGE = 4096;

interface RunRow {
  id: string;
  host: string;
  source_kind: SourceRef['kind'];
  source_name: string;
  mode: BackupMode;
  dek_id: string;
  state: RunState;
  started_at: unknown;
  finished_at: unknown;
  bytes_total: unknown;
  bytes_new: unknown;
  files: unknown;
  bytes_stored: unknown;
  snapshot_id: string | null;
  error_code: string | null;
  error_message: string | null;
  resumed_count: unknown;
  wal_stream: boolean | null;
}

function toRun(r: RunRow): BackupRun {
  return {
    id: r.id,
    source: { host: r.host, kind: r.source_kind, name: r.source_name },
    mode: r.mode,
    dekId: r.dek_id,
    state: r.state,
    startedAt: toDate(r.started_at),
    finishedAt: toOptionalDate(r.finished_at),
    bytesTotal: toOptionalNumber(r.bytes_total),
    bytesNew: toOptionalNumber(r.bytes_new),
    files: toOptionalNumber(r.files),
    bytesStored: toOptionalNumber(r.bytes_stored),
    snapshotId: toOptionalString(r.snapshot_id),
    errorCode: toOptionalString(r.error_code),
    errorMessage: toOptionalString(r.error_message),
    resumedCount: toNumber(r.resumed_count),
    walStream: r.wal_stream === true,
  };
}

function assertRunId(id: string): void {
  if (!isUuid(id)) throw new CatalogError('INVALID_ARGUMENT', `${JSON.stringify(id)} is not a backup run id (a UUID)`);
}

function assertCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CatalogError('INVALID_ARGUMENT', `${what} must be a non-negative integer, got ${n}`);
}

const SOURCE_WHERE = 'host = $1 AND source_kind = $2 AND source_name = $3';

export class BackupRuns {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => Date,
  ) {}

  async begin(input: BeginRun): Promise<BackupRun> {
    assertSource(input.source);
    if (input.mode !== 'full' && input.mode !== 'incremental') throw new CatalogError('INVALID_ARGUMENT', `backup mode ${JSON.stringify(input.mode)} is not 'full' or 'incremental'`);
    assertText('DEK id', input.dekId, 128);
    const id = input.id ?? randomUUID();
    assertRunId(id);
    const [row] = await this.db.query<RunRow>(
      `INSERT INTO backup_runs (id, host, source_kind, source_name, mode, dek_id, state, started_at, wal_stream)
       VALUES ($1, $2, $3, $4, $5, $6, 'running', $7::timestamptz, $8) RETURNING *`,
      [id, input.source.host, input.source.kind, input.source.name, input.mode, input.dekId, iso(this.now()), input.walStream === true],
    );
    return toRun(row!);
  }

  /**
   * running -> committed. Repeating it with the same snapshot is a no-op (an
   * agent retrying after a lost reply); any other transition is FAILED_PRECONDITION.
   */
  async markCommitted(id: string, summary: RunSummary): Promise<BackupRun> {
    assertRunId(id);
    assertText('snapshot id', summary.snapshotId, 128);
    assertCount('bytesTotal', summary.bytesTotal);
    assertCount('bytesNew', summary.bytesNew);
    assertCount('files', summary.files);
    assertCount('bytesStored', summary.bytesStored);
    const [row] = await this.db.query<RunRow>(
      `UPDATE backup_runs SET state = 'committed', finished_at = $2::timestamptz, snapshot_id = $3,
         bytes_total = $4, bytes_new = $5, files = $6, bytes_stored = $7
       WHERE id = $1 AND state = 'running' RETURNING *`,
      [id, iso(this.now()), summary.snapshotId, summary.bytesTotal, summary.bytesNew, summary.files, summary.bytesStored],
    );
    if (row !== undefined) return toRun(row);
    const run = await this.mustGet(id);
    if (run.state === 'committed' && run.snapshotId === summary.snapshotId) return run;
    throw this.notRunning(run, 'commit');
  }

  /**
   * Adds sealed bytes an upload stream of a running run stored, so the count
   * survives a coordinator restart (the run carries on with it). A finished
   * run is left alone.
   */
  async addStoredBytes(id: string, bytes: number): Promise<void> {
    assertRunId(id);
    assertCount('bytes', bytes);
    await this.db.query(`UPDATE backup_runs SET bytes_stored = COALESCE(bytes_stored, 0) + $2 WHERE id = $1 AND state = 'running'`, [id, bytes]);
  }

  /** running -> failed, with the error's code and message. Repeating it is a no-op. */
  async markFailed(id: string, errorCode: string, errorMessage: string): Promise<BackupRun> {
    return this.finish(id, 'failed', errorCode, errorMessage);
  }

  /** running -> abandoned: nobody will finish this run (coordinator restart, agent gone). */
  async markAbandoned(id: string, reason: string): Promise<BackupRun> {
    return this.finish(id, 'abandoned', 'ABANDONED', reason);
  }

  /** Counts a reconnection of the agent that carries on with a running run. */
  async markResumed(id: string): Promise<BackupRun> {
    assertRunId(id);
    const [row] = await this.db.query<RunRow>(
      `UPDATE backup_runs SET resumed_count = resumed_count + 1 WHERE id = $1 AND state = 'running' RETURNING *`,
      [id],
    );
    if (row !== undefined) return toRun(row);
    throw this.notRunning(await this.mustGet(id), 'resume');
  }

  async get(id: string): Promise<BackupRun | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.query<RunRow>('SELECT * FROM backup_runs WHERE id = $1', [id]);
    return row === undefined ? undefined : toRun(row);
  }

  /** The source's running WAL run, if any (there is at most one). */
  async runningWal(source: SourceRef): Promise<BackupRun | undefined> {
    assertSource(source);
    const [row] = await this.db.query<RunRow>(`SELECT * FROM backup_runs WHERE ${SOURCE_WHERE} AND wal_stream AND state = 'running'`, [source.host, source.kind, source.name]);
    return row === undefined ? undefined : toRun(row);
  }

  /** Runs still in progress, oldest first; optionally of one host. */
  async listRunning(host?: string): Promise<BackupRun[]> {
    const rows = await this.db.query<RunRow>(
      `SELECT * FROM backup_runs WHERE state = 'running' AND ($1::text IS NULL OR host = $1::text) ORDER BY started_at, id`,
      [host ?? null],
    );
    return rows.map(toRun);
  }

  /** Outcomes of the source's runs that finished in the last `sinceMs` (running ones do not count). */
  async successRate(source: SourceRef, sinceMs: number): Promise<SuccessRate> {
    assertSource(source);
    if (!(sinceMs > 0)) throw new CatalogError('INVALID_ARGUMENT', `window ${sinceMs} ms must be positive`);
    const now = this.now();
    const rows = await this.db.query<{ state: RunState; n: unknown }>(
      `SELECT state, count(*) AS n FROM backup_runs
       WHERE ${SOURCE_WHERE} AND state <> 'running' AND finished_at > $4::timestamptz AND finished_at <= $5::timestamptz
       GROUP BY state`,
      [source.host, source.kind, source.name, iso(new Date(now.getTime() - sinceMs)), iso(now)],
    );
    let committed = 0;
    let failed = 0;
    for (const r of rows) {
      if (r.state === 'committed') committed += toNumber(r.n);
      else failed += toNumber(r.n);
    }
    const total = committed + failed;
    return { committed, failed, total, rate: total === 0 ? undefined : committed / total };
  }

  /** The source's most recently finished committed run. */
  async lastSuccess(source: SourceRef): Promise<BackupRun | undefined> {
    return this.lastFinished(source, `state = 'committed'`);
  }

  /** The source's most recently finished failed or abandoned run. */
  async lastFailure(source: SourceRef): Promise<BackupRun | undefined> {
    return this.lastFinished(source, `state IN ('failed', 'abandoned')`);
  }

  private async lastFinished(source: SourceRef, stateCondition: string): Promise<BackupRun | undefined> {
    assertSource(source);
    const [row] = await this.db.query<RunRow>(
      `SELECT * FROM backup_runs WHERE ${SOURCE_WHERE} AND ${stateCondition} ORDER BY finished_at DESC, id DESC LIMIT 1`,
      [source.host, source.kind, source.name],
    );
    return row === undefined ? undefined : toRun(row);
  }

  private async finish(id: string, state: 'failed' | 'abandoned', errorCode: string, errorMessage: string): Promise<BackupRun> {
    assertRunId(id);
    assertText('error code', errorCode, 64);
    const message = String(errorMessage ?? '').slice(0, MAX_ERROR_MESSAGE);
    const [row] = await this.db.query<RunRow>(
      `UPDATE backup_runs SET state = $2, finished_at = $3::timestamptz, error_code = $4, error_message = $5
       WHERE id = $1 AND state = 'running' RETURNING *`,
      [id, state, iso(this.now()), errorCode, message],
    );
    if (row !== undefined) return toRun(row);
    const run = await this.mustGet(id);
    if (run.state === state) return run;
    throw this.notRunning(run, state === 'failed' ? 'fail' : 'abandon');
  }

  private async mustGet(id: string): Promise<BackupRun> {
    const run = await this.get(id);
    if (run === undefined) throw new CatalogNotFoundError('backup run', id);
    return run;
  }

  private notRunning(run: BackupRun, verb: string): CatalogError {
    return new CatalogError(
      'FAILED_PRECONDITION',
      `cannot ${verb} backup run ${run.id} of ${run.source.host}/${run.source.kind}/${run.source.name}: it is already ${run.state}` +
        (run.finishedAt ? ` (since ${run.finishedAt.toISOString()})` : '') +
        '; start a new run',
    );
  }
}
