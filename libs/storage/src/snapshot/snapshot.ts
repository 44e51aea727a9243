import { ObjectCorruptError, StorageError } from '../errors.js';
import { OBJECT_FOLDERS, type Repository } from '../repository/index.js';

export type SourceKind = 'files' | 'postgres' | 'redis';

export interface SourceRef {
  host: string;
  kind: SourceKind;
  name: string;
}

export interface SnapshotSummary {
  files: number;
  dirs: number;
  /** Bytes of the source at backup time. */
  bytesTotal: number;
  /** Bytes read and chunked (unchanged files skipped by size+mtime+inode are not read). */
  bytesRead: number;
  blobsNew: number;
  /** Sealed bytes this snapshot added to the repository. */
  bytesNewStored: number;
  durationMs: number;
  /** Entries that could not be read consistently; they are absent from the tree. */
  errors: { path: string; message: string }[];
}

/** `snapshots/<id>`: sealed JSON (docs/repository-format.md, "Snapshots"). */
export interface Snapshot {
  version: 1;
  time: string;
  source: SourceRef;
  tags: string[];
  /** Root tree blob id, hex. */
  tree: string;
  /** DEK of this backup run, hex (older blobs it reuses keep their own DEKs). */
  dekId: string;
  parent?: string;
  /** What was backed up, as the agent saw it (absolute paths). */
  paths?: string[];
  summary: SnapshotSummary;
  /** Kind-specific facts (PostgreSQL LSNs, Redis key counts...). */
  meta?: Record<string, unknown>;
}

export interface SnapshotWithId extends Snapshot {
  id: string;
}

/** Saves a snapshot. Callers flush the repository first: its trees and blobs must already be durable. */
export async function saveSnapshot(repo: Repository, snapshot: Snapshot): Promise<string> {
  return repo.saveObject('snapshot', Buffer.from(JSON.stringify(snapshot), 'utf8'));
}

export async function loadSnapshot(repo: Repository, id: string): Promise<SnapshotWithId> {
  const payload = await repo.loadObject('snapshot', id);
  let s: Snapshot;
  try {
    s = JSON.parse(payload.toString('utf8')) as Snapshot;
  } catch (err) {
    throw new ObjectCorruptError(OBJECT_FOLDERS.snapshot + id, 'not valid JSON', { cause: err });
  }
  if (s.version !== 1 || !/^[0-9a-f]{64}$/.test(s.tree ?? '')) throw new ObjectCorruptError(OBJECT_FOLDERS.snapshot + id, 'missing version or root tree');
  return { ...s, id };
}

export async function listSnapshots(repo: Repository, filter: Partial<SourceRef> = {}): Promise<SnapshotWithId[]> {
  const out: SnapshotWithId[] = [];
  for await (const id of repo.listObjects('snapshot')) {
    const s = await loadSnapshot(repo, id);
    if (filter.host !== undefined && s.source.host !== filter.host) continue;
    if (filter.kind !== undefined && s.source.kind !== filter.kind) continue;
    if (filter.name !== undefined && s.source.name !== filter.name) continue;
    out.push(s);
  }
  return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/** The newest snapshot at or before `at` (default: now), or a typed NOT_FOUND. */
export async function findSnapshot(repo: Repository, source: Partial<SourceRef>, at?: Date): Promise<SnapshotWithId> {
  const all = await listSnapshots(repo, source);
  const limit = at?.toISOString();
  const found = all.filter((s) => limit === undefined || s.time <= limit).pop();
  if (!found) throw new StorageError('NOT_FOUND', `no snapshot of ${JSON.stringify(source)}${limit ? ` at or before ${limit}` : ''}`);
  return found;
}

/** Resolves a full id or a unique prefix (at least 8 hex digits), as restic does. */
export async function resolveSnapshotId(repo: Repository, idOrPrefix: string): Promise<string> {
  if (!/^[0-9a-f]{8,64}$/.test(idOrPrefix)) throw new StorageError('INVALID_ARGUMENT', `${JSON.stringify(idOrPrefix)} is not a snapshot id (8 to 64 hex digits)`);
  const matches: string[] = [];
  for await (const id of repo.listObjects('snapshot')) if (id.startsWith(idOrPrefix)) matches.push(id);
  if (matches.length === 1) return matches[0]!;
  throw new StorageError(matches.length ? 'INVALID_ARGUMENT' : 'NOT_FOUND', matches.length ? `snapshot prefix ${idOrPrefix} is ambiguous (${matches.length} matches)` : `no snapshot ${idOrPrefix}`);
}
