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

export async function planPostgresRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const o = req.postgres;
  if (req.options !== 'postgres' || !o) throw new CoordinatorError('INVALID_ARGUMENT', 'a postgres restore needs options.postgres (target_dir and a recovery target)');
  absoluteTarget(o.targetDir, 'target_dir');
  // The newest base backup that ended before the target; refined per target kind by the WAL catalog.
  const at = o.target === 'timeUnixMs' ? Number(o.timeUnixMs) : 0;
  const snapshot = await chosenSnapshot(ctx, { snapshotId: req.snapshotId, atUnixMs: at || req.atUnixMs }, source);
  return { snapshot, command: { targetDir: o.targetDir, path: '', force: o.force, postgres: o }, audit: { targetDir: o.targetDir, target: o.target ?? 'latest', start: o.start } };
}

export async function planPostgresLogicalRestore(ctx: PlanContext, req: v1.RestoreRequest__Output, source: SourceRef): Promise<RestorePlan> {
  const o = req.postgresLogical;
  if (req.options !== 'postgresLogical' || !o) throw new CoordinatorError('INVALID_ARGUMENT', 'a logical restore needs options.postgres_logical (database, into)');
  if (o.database === '' || o.into === '') throw new CoordinatorError('INVALID_ARGUMENT', 'database and into are required');
  if (/password\s*=/i.test(o.into) || /:\/\/[^/@]*:[^/@]*@/.test(o.into)) {
    throw new CoordinatorError('INVALID_ARGUMENT', 'into must not carry a password: put it in the target host\'s ~/.pgpass or PGPASSFILE');
  }
  const snapshot = await chosenSnapshot(ctx, req, source);
  return { snapshot, command: { targetDir: '', path: '', force: false, postgresLogical: o }, audit: { database: o.database, into: o.into } };
}
