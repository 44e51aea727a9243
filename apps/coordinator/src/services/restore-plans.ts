/**
 * What a Restore request turns into, per source kind: which snapshot is
 * restored and the RestoreCommand the target agent receives. The operator
 * service does the rest (roles, audit, cross-host grants, following the job).
 *
 * A snapshot's labels carry what its kind needs to pick it (PostgreSQL:
 * `type` base|logical, stop_lsn, stop time; Redis: rdb facts).
 */
import { posix } from 'node:path';
import type { v1 } from '@pbk/protocol';
import type { SnapshotWithId, SourceRef } from '@pbk/storage';
import { count, snapshotHex, sourceLabel } from '../convert.js';
import type { ServiceContext } from '../context.js';
import { CoordinatorError } from '../errors.js';
import { snapshotById } from '../snapshot-access.js';

export interface RestorePlan {
  snapshot: SnapshotWithId;
  /** RestoreCommand fields besides `snapshot`. */
  command: Omit<v1.RestoreCommand, 'snapshot'>;
  /** What the audit record says about where the data goes. */
  audit: Record<string, unknown>;
}

type PlanContext = Pick<ServiceContext, 'catalog' | 'repo' | 'config'>;

export function absoluteTarget(path: string, field: string): string {
  if (!posix.isAbsolute(path) || path.includes('\0')) throw new CoordinatorError('INVALID_ARGUMENT', `${field} ${JSON.stringify(path)} must be an absolute path on the target host`);
  return path;
}

/** The snapshot a request names: an exact id, or the newest at or before at_unix_ms (now when 0). */
export async function chosenSnapshot(ctx: PlanContext, req: { snapshotId: Buffer; atUnixMs: string | number }, source: SourceRef): Promise<SnapshotWithId> {
  if (req.snapshotId.length > 0) {
    const snap = await snapshotById(ctx.catalog, ctx.repo, snapshotHex(req.snapshotId));
    if (sourceLabel(snap.source) !== sourceLabel(source)) throw new CoordinatorError('INVALID_ARGUMENT', `snapshot ${snap.id} is of ${sourceLabel(snap.source)}, not ${sourceLabel(source)}`);
    return snap;
  }
  const atMs = count(req.atUnixMs, 'at_unix_ms');
  const at = atMs === 0 ? ctx.config.now() : new Date(atMs);
  const snap = await ctx.catalog.snapshots.findAtOrBefore(source, at);
  if (snap === undefined) {
    throw new CoordinatorError('NOT_FOUND', `no snapshot of ${sourceLabel(source)} at or before ${at.toISOString()}: list them with pbk snapshots --host ${source.host} --source ${source.name}`);
  }
  return snap;
}

export async function planFilesRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const files = req.files;
  if (req.options !== 'files' || !files) throw new CoordinatorError('INVALID_ARGUMENT', 'a files restore needs options.files (target_dir, path, force)');
  absoluteTarget(files.targetDir, 'target_dir');
  if (files.path.includes('\0') || files.path.split('/').includes('..')) throw new CoordinatorError('INVALID_ARGUMENT', `path ${JSON.stringify(files.path)} may not contain '..' or NUL`);
  const snapshot = await chosenSnapshot(ctx, req, source);
  return {
    snapshot,
    command: { path: files.path, targetDir: files.targetDir, force: files.force },
    audit: { targetDir: files.targetDir, path: files.path, force: files.force },
  };
}

export async function planRedisRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const o = req.redis;
  if (req.options !== 'redis' || !o) throw new CoordinatorError('INVALID_ARGUMENT', 'a redis restore needs options.redis (to_file or into)');
  if ((o.toFile === '') === (o.into === '')) throw new CoordinatorError('INVALID_ARGUMENT', 'give exactly one of to_file (write the RDB to a file) or into (HOST:PORT of a stopped instance)');
  if (o.toFile !== '') absoluteTarget(o.toFile, 'to_file');
  const snapshot = await chosenSnapshot(ctx, req, source);
  return { snapshot, command: { targetDir: '', path: '', force: o.force, redis: o }, audit: { toFile: o.toFile, into: o.into, force: o.force } };
}

/** A PostgreSQL snapshot's labels (labels live in the snapshot object's meta). */
function labelsOf(s: SnapshotWithId): Record<string, string> {
  return (s.meta as { labels?: Record<string, string> } | undefined)?.labels ?? {};
}

/** An LSN ("16/B374D848") as a bigint; undefined when it is not one. */
export function lsnValue(text: string | undefined): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec((text ?? '').trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : undefined;
}

/** What a postgres recovery target needs of a base backup to start from it. */
export type BaseQualifier = (snap: SnapshotWithId, labels: Record<string, string>) => boolean;

/**
 * The newest snapshot of `type` (base | logical) satisfying `ok`, no newer
 * than `until`: the catalog is walked newest first, page by page.
 */
export async function newestOfType(ctx: PlanContext, source: SourceRef, type: string, until: Date, ok: BaseQualifier = () => true): Promise<SnapshotWithId | undefined> {
  let pageToken: string | undefined;
  for (;;) {
    const page = await ctx.catalog.snapshots.list({ host: source.host, kind: source.kind, name: source.name, until, limit: 1000, ...(pageToken ? { pageToken } : {}) });
    for (const s of page.snapshots) {
      const labels = labelsOf(s);
      if (labels.type === type && ok(s, labels)) return s;
    }
    if (!page.nextPageToken) return undefined;
    pageToken = page.nextPageToken;
  }
}

/**
 * Point-in-time recovery starts from the newest base backup that was
 * consistent (stopped) at or before the target: a time target compares the
 * snapshot's time (its stop), an LSN target its stop_lsn; xid, name and
 * latest take the newest base backup (or the newest at or before --at, for
 * an older starting point). A snapshot id given explicitly must be a base
 * backup that can reach the target.
 */
export async function planPostgresRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const o = req.postgres;
  if (req.options !== 'postgres' || !o) throw new CoordinatorError('INVALID_ARGUMENT', 'a postgres restore needs options.postgres (target_dir and a recovery target)');
  absoluteTarget(o.targetDir, 'target_dir');
  const targetMs = o.target === 'timeUnixMs' ? count(o.timeUnixMs, 'time_unix_ms') : 0;
  const targetLsn = o.target === 'lsn' ? lsnValue(o.lsn) : undefined;
  if (o.target === 'lsn' && targetLsn === undefined) throw new CoordinatorError('INVALID_ARGUMENT', `lsn ${JSON.stringify(o.lsn)} is not an LSN like 0/3000148`);
  if (o.target === 'xid' && !/^\d+$/.test(o.xid ?? '')) throw new CoordinatorError('INVALID_ARGUMENT', `xid ${JSON.stringify(o.xid)} is not a transaction id (decimal)`);
  if (o.target === 'name' && (o.name ?? '') === '') throw new CoordinatorError('INVALID_ARGUMENT', 'a restore point name must not be empty');
  const reaches: BaseQualifier = (snap, labels) => {
    if (targetMs > 0) return Date.parse(snap.time) <= targetMs;
    if (targetLsn !== undefined) {
      const stop = lsnValue(labels.stop_lsn);
      return stop !== undefined && stop <= targetLsn;
    }
    return true;
  };
  const what = targetMs > 0 ? `at or before ${new Date(targetMs).toISOString()}` : targetLsn !== undefined ? `that ended at or before LSN ${o.lsn}` : 'at all';
  let snapshot: SnapshotWithId;
  if (req.snapshotId.length > 0) {
    snapshot = await chosenSnapshot(ctx, req, source);
    const labels = labelsOf(snapshot);
    if (labels.type !== 'base') throw new CoordinatorError('INVALID_ARGUMENT', `snapshot ${snapshot.id.slice(0, 8)} is a ${labels.type ?? 'unlabelled'} snapshot, not a base backup: point-in-time recovery starts from a base backup`);
    if (!reaches(snapshot, labels)) throw new CoordinatorError('INVALID_ARGUMENT', `base backup ${snapshot.id.slice(0, 8)} ended after the recovery target: pick an older one, or leave out --snapshot`);
  } else {
    const atMs = count(req.atUnixMs, 'at_unix_ms');
    const until = atMs > 0 ? new Date(atMs) : targetMs > 0 ? new Date(targetMs) : ctx.config.now();
    const found = await newestOfType(ctx, source, 'base', until, reaches);
    if (found === undefined) {
      throw new CoordinatorError(
        'NOT_FOUND',
        `no base backup of ${sourceLabel(source)} ${what}${atMs > 0 ? ` (and at or before --at ${new Date(atMs).toISOString()})` : ''}: WAL replay needs a base backup from before the target; list them with pbk snapshots --host ${source.host} --source ${source.name}`,
      );
    }
    snapshot = found;
  }
  return {
    snapshot,
    command: { targetDir: o.targetDir, path: '', force: o.force, postgres: o },
    audit: { targetDir: o.targetDir, target: o.target ?? 'latest', start: o.start, baseBackup: snapshot.id },
  };
}

export async function planPostgresLogicalRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const o = req.postgresLogical;
  if (req.options !== 'postgresLogical' || !o) throw new CoordinatorError('INVALID_ARGUMENT', 'a logical restore needs options.postgres_logical (database, into)');
  if (o.database === '' || o.into === '') throw new CoordinatorError('INVALID_ARGUMENT', 'database and into are required');
  if (/password\s*=/i.test(o.into) || /:\/\/[^/@]*:[^/@]*@/.test(o.into)) {
    throw new CoordinatorError('INVALID_ARGUMENT', 'into must not carry a password: put it in the target host\'s ~/.pgpass or PGPASSFILE');
  }
  let snapshot: SnapshotWithId;
  if (req.snapshotId.length > 0) {
    snapshot = await chosenSnapshot(ctx, req, source);
    if (labelsOf(snapshot).type !== 'logical') throw new CoordinatorError('INVALID_ARGUMENT', `snapshot ${snapshot.id.slice(0, 8)} is not a logical dump (type ${labelsOf(snapshot).type ?? 'unlabelled'})`);
  } else {
    const atMs = count(req.atUnixMs, 'at_unix_ms');
    const until = atMs > 0 ? new Date(atMs) : ctx.config.now();
    const found = await newestOfType(ctx, source, 'logical', until, (_s, labels) => (labels.databases ?? '').split(',').includes(o.database));
    if (found === undefined) {
      throw new CoordinatorError('NOT_FOUND', `no logical dump of database ${JSON.stringify(o.database)} in ${sourceLabel(source)} at or before ${until.toISOString()}: take one with pbk backup now --host ${source.host} --source ${source.name} --logical --wait`);
    }
    snapshot = found;
  }
  return { snapshot, command: { targetDir: '', path: '', force: false, postgresLogical: o }, audit: { database: o.database, into: o.into, snapshot: snapshot.id } };
}
