import { createHash } from 'node:crypto';
import { openChunk } from '../blob/codec.js';
import { BlobCorruptError, StorageError } from '../errors.js';
import type { IndexFile } from '../index/index.js';
import { entriesFromPackBytes, packIdFromName, packName, type PackEntry } from '../pack/index.js';
import type { Repository } from '../repository/index.js';
import { loadWalManifests } from '../wal/index.js';
import { listSnapshotIds, walkSnapshotRefs } from './refs.js';

export type ProblemKind =
  | 'index-corrupt'
  | 'pack-missing'
  | 'pack-size'
  | 'pack-unindexed'
  | 'pack-corrupt'
  | 'blob-corrupt'
  | 'blob-missing'
  | 'key-missing'
  | 'snapshot-corrupt'
  | 'snapshot-incomplete'
  | 'wal-corrupt';

export interface Problem {
  kind: ProblemKind;
  /** The pack, blob, index object, key or snapshot concerned (hex id). */
  id: string;
  detail: string;
  snapshot?: string;
  path?: string;
}

export interface VerifyOptions {
  /** Share of packs read in full, hashed and every blob decrypted (restic's --read-data-subset). Default 100. */
  readDataPercent?: number;
  /** Picks the subset; injectable so tests are deterministic. */
  random?: () => number;
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

export interface VerifyReport {
  ok: boolean;
  indexObjects: number;
  packs: { total: number; read: number };
  blobs: { indexed: number; checked: number };
  snapshots: { total: number; complete: number };
  /** Damage: a backup is (or may be) not restorable. `ok` is false when there is any. */
  problems: Problem[];
  /** Harmless leftovers (packs of an interrupted write that no index names): GC removes them after the grace period. */
  warnings: Problem[];
}

/**
 * Layered verification (DESIGN decision 11): (a) index objects decode and
 * name packs that exist with the right sizes; (b) a share of packs is read,
 * hashed against its name, its trailer matched to the index, every blob opened
 * and its id recomputed; (c) every snapshot's trees and blobs resolve.
 * It only reads: a damaged repository is reported, never changed.
 */
export async function verifyRepository(repo: Repository, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const percent = Math.min(100, Math.max(0, options.readDataPercent ?? 100));
  const random = options.random ?? Math.random;

  // (a) index objects, read afresh so on-disk damage is seen even if the open index is fine.
  const indexed = new Map<string, PackEntry[]>();
  let indexObjects = 0;
  for await (const id of repo.listObjects('index')) {
    indexObjects++;
    let file: IndexFile;
    try {
      file = await repo.loadIndexFile(id);
    } catch (err) {
      problems.push({ kind: 'index-corrupt', id, detail: (err as Error).message });
      continue;
    }
    for (const p of file.packs) if (!indexed.has(p.packId)) indexed.set(p.packId, p.entries);
  }
  const stored = new Map<string, number>();
  for await (const o of repo.backend.list('data/')) {
    const id = packIdFromName(o.name);
    if (id) stored.set(id, o.size);
  }
  for (const [packId, entries] of indexed) {
    const size = stored.get(packId);
    if (size === undefined) {
      problems.push({ kind: 'pack-missing', id: packId, detail: `indexed pack with ${entries.length} blobs is not in the repository` });
      continue;
    }
    const end = Math.max(0, ...entries.map((e) => e.offset + e.length));
    if (end > size) problems.push({ kind: 'pack-size', id: packId, detail: `pack is ${size} bytes but its blobs reach byte ${end} (truncated)` });
  }
  for (const packId of stored.keys()) {
    if (!indexed.has(packId)) warnings.push({ kind: 'pack-unindexed', id: packId, detail: 'pack is not in any index (an interrupted write); repair-index adds it, GC removes it after the grace period' });
  }

  const dekIds = new Set(await repo.keys.listDekIds());
  for (const [packId, entries] of indexed) {
    for (const e of entries) {
      const hex = e.dekId.toString('hex');
      if (!dekIds.has(hex)) {
        problems.push({ kind: 'key-missing', id: hex, detail: `data key used by blobs of pack ${packId} is gone; those blobs are unreadable` });
        dekIds.add(hex); // report each missing key once
      }
    }
  }

  // (b) read data.
  const candidates = [...indexed.keys()].filter((id) => stored.has(id));
  const toRead = percent >= 100 ? candidates : candidates.filter(() => random() * 100 < percent);
  let blobsChecked = 0;
  let done = 0;
  for (const packId of toRead) {
    options.onProgress?.({ phase: 'read-data', done: done++, total: toRead.length });
    let bytes: Buffer;
    try {
      bytes = await repo.backend.get(packName(packId));
    } catch (err) {
      problems.push({ kind: 'pack-missing', id: packId, detail: (err as Error).message });
      continue;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== packId) {
      problems.push({ kind: 'pack-corrupt', id: packId, detail: 'content does not hash to the pack name' });
    }
    let trailer: PackEntry[] | undefined;
    try {
      trailer = entriesFromPackBytes(packId, bytes, repo.keys.master.metaKey);
    } catch (err) {
      problems.push({ kind: 'pack-corrupt', id: packId, detail: (err as Error).message });
    }
    const fromIndex = indexed.get(packId)!;
    if (trailer && !sameEntries(trailer, fromIndex)) {
      problems.push({ kind: 'pack-corrupt', id: packId, detail: 'trailer and index disagree about the blobs in this pack' });
    }
    for (const e of fromIndex) {
      const hex = e.id.toString('hex');
      const sealed = bytes.subarray(e.offset, e.offset + e.length);
      try {
        if (sealed.length !== e.length) throw new BlobCorruptError(hex, packId, 'pack ends inside the blob');
        // A delta blob is checked whole: its base read (and checked) too.
        const base = e.deltaBase ? await repo.readBlob(e.deltaBase, `delta blob ${hex}`) : undefined;
        openChunk(await repo.keys.dek(e.dekId), repo.keys.master.idKey, e.id, sealed, e.rawLength, packId, base);
        blobsChecked++;
      } catch (err) {
        if (err instanceof StorageError && err.code === 'NOT_FOUND') continue; // reported as key-missing
        problems.push({ kind: 'blob-corrupt', id: hex, detail: (err as Error).message });
      }
    }
  }

  // (c) completeness of every snapshot.
  const snapshots = await listSnapshotIds(repo);
  let complete = 0;
  const checkedTrees = new Map<string, boolean>();
  for (const sid of snapshots) {
    const before = problems.length;
    await walkSnapshotRefs(repo, sid, checkedTrees, {
      onTree: () => {},
      onBlob: () => {},
      onProblem: (p) => problems.push(p),
    });
    if (problems.length === before) complete++;
  }

  // (d) WAL manifests: readable, no conflicting copies, every blob indexed.
  try {
    const wal = await loadWalManifests(repo);
    for (const c of wal.conflicts) {
      problems.push({ kind: 'wal-corrupt', id: c.file.name, detail: `WAL file ${c.file.name} of ${c.file.host}/${c.file.source} is recorded twice with different content (sha256 ${c.file.sha256.slice(0, 16)}... and ${c.other.sha256.slice(0, 16)}...)` });
    }
    for (const f of wal.files) {
      const missing = f.content.find((id) => !repo.index.has(Buffer.from(id, 'hex')));
      if (missing !== undefined) problems.push({ kind: 'blob-missing', id: missing, detail: `WAL file ${f.name} of ${f.host}/${f.source} names a blob that is not in the index` });
    }
  } catch (err) {
    problems.push({ kind: 'wal-corrupt', id: 'wal/', detail: (err as Error).message });
  }

  return {
    ok: problems.length === 0,
    indexObjects,
    packs: { total: stored.size, read: toRead.length },
    blobs: { indexed: [...indexed.values()].reduce((n, e) => n + e.length, 0), checked: blobsChecked },
    snapshots: { total: snapshots.length, complete },
    problems,
    warnings,
  };
}

function sameEntries(a: readonly PackEntry[], b: readonly PackEntry[]): boolean {
  if (a.length !== b.length) return false;
  const key = (e: PackEntry) => `${e.id.toString('hex')}:${e.offset}:${e.length}:${e.rawLength}:${e.dekId.toString('hex')}:${e.type}:${e.deltaBase?.toString('hex') ?? ''}`;
  const set = new Set(a.map(key));
  return b.every((e) => set.has(key(e)));
}
