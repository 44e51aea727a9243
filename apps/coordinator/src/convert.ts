/**
 * Conversions between the wire (pbk.v1 messages: raw-byte ids, int64 as
 * strings, enum names) and the repository and catalog (hex ids, ISO times,
 * lower-case kinds). Every request field is checked here, so services get
 * values they can trust or an INVALID_ARGUMENT that says which field is wrong.
 */
import type { SnapshotWithId, SourceKind, SourceRef } from '@pbk/storage';
import type { v1 } from '@pbk/protocol';
import { CoordinatorError } from './errors.js';

export const BLOB_ID_BYTES = 32;

const KIND_TO_WIRE: Record<SourceKind, v1.SourceKind> = { files: 'SOURCE_KIND_FILES', postgres: 'SOURCE_KIND_POSTGRES', redis: 'SOURCE_KIND_REDIS' };

export function kindFromWire(kind: string | undefined, field = 'source.kind'): SourceKind {
  switch (kind) {
    case 'SOURCE_KIND_FILES':
      return 'files';
    case 'SOURCE_KIND_POSTGRES':
      return 'postgres';
    case 'SOURCE_KIND_REDIS':
      return 'redis';
    default:
      throw new CoordinatorError('INVALID_ARGUMENT', `${field} must be SOURCE_KIND_FILES, SOURCE_KIND_POSTGRES or SOURCE_KIND_REDIS`);
  }
}

/** The kind, or undefined when the request left it unspecified. */
export function optionalKindFromWire(kind: string | undefined, field = 'source.kind'): SourceKind | undefined {
  return kind === undefined || kind === '' || kind === 'SOURCE_KIND_UNSPECIFIED' ? undefined : kindFromWire(kind, field);
}

export function sourceToWire(s: SourceRef): v1.SourceRef {
  return { host: s.host, kind: KIND_TO_WIRE[s.kind], name: s.name };
}

export function sourceLabel(s: SourceRef): string {
  return `${s.host}/${s.kind}/${s.name}`;
}

export type RunMode = 'full' | 'incremental';

export function modeToWire(mode: RunMode | undefined): v1.BackupMode {
  return mode === 'full' ? 'BACKUP_MODE_FULL' : mode === 'incremental' ? 'BACKUP_MODE_INCREMENTAL' : 'BACKUP_MODE_UNSPECIFIED';
}

export function modeFromWire(mode: string | undefined): RunMode | undefined {
  return mode === 'BACKUP_MODE_FULL' ? 'full' : mode === 'BACKUP_MODE_INCREMENTAL' ? 'incremental' : undefined;
}

/** A 32-byte blob id from the wire. */
export function blobId(id: Buffer | undefined, field: string): Buffer {
  if (!Buffer.isBuffer(id) || id.length !== BLOB_ID_BYTES) {
    throw new CoordinatorError('INVALID_ARGUMENT', `${field} must be a ${BLOB_ID_BYTES}-byte blob id, got ${id?.length ?? 0} bytes`);
  }
  return id;
}

/** A snapshot id (the repository object's SHA-256, 32 bytes) as hex. */
export function snapshotHex(id: Buffer | undefined, field = 'snapshot_id'): string {
  if (!Buffer.isBuffer(id) || id.length !== 32) {
    throw new CoordinatorError('INVALID_ARGUMENT', `${field} must be a 32-byte snapshot id, got ${id?.length ?? 0} bytes`);
  }
  return id.toString('hex');
}

/** Run ids are catalog UUIDs; on the wire their 16 bytes. */
export function runIdToWire(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function runIdFromWire(id: Buffer | undefined, field = 'run_id'): string {
  if (!Buffer.isBuffer(id) || id.length !== 16) {
    throw new CoordinatorError('INVALID_ARGUMENT', `${field} must be the 16-byte run id BeginBackup returned, got ${id?.length ?? 0} bytes`);
  }
  const h = id.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** An int64 field (decimal string, number) as a non-negative safe integer. */
export function count(value: string | number | undefined, field: string): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw new CoordinatorError('INVALID_ARGUMENT', `${field} must be a non-negative integer below 2^53`);
  return n;
}

/**
 * What the coordinator keeps in a snapshot object's `meta` beyond the
 * storage fields (docs/agent-coordinator.md, "Snapshot objects"): the run
 * facts the proto's SnapshotInfo carries, so `rebuild-catalog` loses none.
 */
export interface SnapshotMeta {
  pbk?: { runId?: string; mode?: RunMode; committedUnixMs?: number; newBytes?: number; skipped?: number; storedBytes?: number };
  labels?: Record<string, string>;
}

export function snapshotToWire(s: SnapshotWithId): v1.SnapshotInfo {
  const meta = (s.meta ?? {}) as SnapshotMeta;
  const run = meta.pbk ?? {};
  return {
    id: Buffer.from(s.id, 'hex'),
    source: sourceToWire(s.source),
    runId: run.runId ? runIdToWire(run.runId) : Buffer.alloc(0),
    mode: modeToWire(run.mode),
    timeUnixMs: String(Date.parse(s.time)),
    committedUnixMs: String(run.committedUnixMs ?? 0),
    treeRoot: Buffer.from(s.tree, 'hex'),
    parentId: s.parent ? Buffer.from(s.parent, 'hex') : Buffer.alloc(0),
    stats: {
      files: String(s.summary.files ?? 0),
      dirs: String(s.summary.dirs ?? 0),
      totalBytes: String(s.summary.bytesTotal ?? 0),
      newBytes: String(run.newBytes ?? 0),
      uploadedBytes: String(s.summary.bytesNewStored ?? 0),
      newBlobs: String(s.summary.blobsNew ?? 0),
      skipped: String(run.skipped ?? s.summary.errors?.length ?? 0),
      // Snapshots from before delta blobs stored what was uploaded.
      storedBytes: String(run.storedBytes ?? s.summary.bytesNewStored ?? 0),
    },
    paths: s.paths ?? [],
    labels: meta.labels ?? {},
  };
}

/** A Failure carried in a message, from anything thrown. */
export function failureOf(err: unknown): v1.Failure {
  const code = (err as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
