import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import { encodeIndexFile } from '../index/index.js';
import { packIdFromName, packName, readPackEntries, type PackEntry } from '../pack/index.js';
import { DEFAULT_PACK_TARGET_BYTES, type Repository } from '../repository/index.js';
import { listSnapshotIds, walkSnapshotRefs, type Problem } from '../verify/index.js';
import { loadWalManifests } from '../wal/index.js';

export interface GcOptions {
  /**
   * Packs and data keys younger than this are never touched: a backup still in
   * flight has written them but not its snapshot yet. 24 h outlasts any
   * backup run we schedule; tests pass 0 with an injected clock.
   */
  graceMs?: number;
  /** Repack a pack once this share of its bytes is garbage (restic repacks from 5 % repo-wide; per pack, half keeps rewrites cheap). */
  repackThreshold?: number;
  /** Report what would happen, change nothing. */
  dryRun?: boolean;
  /** DEKs of runs the caller knows are open (the coordinator's catalog). */
  protectedDeks?: Iterable<string>;
  /** Size of new packs written by repacking. */
  packTargetBytes?: number;
  /**
   * Blob ids (hex) the caller knows are live beyond snapshots and WAL manifests:
   * the coordinator passes the content of WAL files still growing, which its
   * catalog records but no manifest does yet.
   */
  liveBlobs?: Iterable<string>;
}

export interface GcReport {
  snapshots: number;
  /** WAL files (from WAL manifests) whose blobs were marked live. */
  walFiles: number;
  blobsUsed: number;
  packs: { total: number; kept: number; deleted: number; repacked: number; recent: number; reindexed: number };
  bytesFreed: number;
  deksDestroyed: string[];
  indexObjects: { written: number; removed: number };
  dryRun: boolean;
}

interface PackPlan {
  id: string;
  size: number;
  entries: readonly PackEntry[];
  usedHere: PackEntry[];
  action: 'keep' | 'delete' | 'repack' | 'recent' | 'reindex';
}

/**
 * Mark-and-sweep GC (DESIGN decision 12). Mark: every blob reachable from a
 * snapshot. Sweep: packs past the grace period that hold only garbage are
 * deleted, mostly-garbage ones are rewritten with their live blobs (sealed
 * bytes copied as they are), a fresh index supersedes the old ones, and only
 * then are packs deleted (index first, so no reader is sent to a deleted pack).
 * Data keys no remaining blob uses are destroyed: crypto-erasure.
 */
export async function collectGarbage(repo: Repository, options: GcOptions = {}): Promise<GcReport> {
  const graceMs = options.graceMs ?? 24 * 3600 * 1000;
  const threshold = options.repackThreshold ?? 0.5;
  const now = repo.now().getTime();
  const isRecent = (modified: Date | undefined) => modified === undefined || now - modified.getTime() < graceMs;
  // Track reuse before the first await: from here on, any blob a backup dedups against is kept.
  repo.trackReuse();
  try {
    await repo.flush();
    // Mark.
    const used = new Set<string>();
    const problems: Problem[] = [];
    const seen = new Map<string, boolean>();
    const snapshots = await listSnapshotIds(repo);
    for (const sid of snapshots) {
      await walkSnapshotRefs(repo, sid, seen, { onTree: (id) => used.add(id), onBlob: (id) => used.add(id), onProblem: (p) => problems.push(p) });
    }
    // WAL is kept by its manifests (docs/repository-format.md, "WAL manifests"); a manifest GC cannot read stops it.
    const wal = await loadWalManifests(repo).catch((err: unknown) => {
      throw new StorageError('FAILED_PRECONDITION', `GC refuses to delete anything: a WAL manifest cannot be read (${(err as Error).message}); run verify`, { cause: err });
    });
    for (const f of wal.files) for (const id of f.content) used.add(id);
    for (const id of options.liveBlobs ?? []) used.add(id);
    addDeltaBases(repo, used, problems);
    if (problems.length > 0) {
      throw new StorageError(
        'FAILED_PRECONDITION',
        `GC refuses to delete anything: ${problems.length} problem(s) while marking, first: ${problems[0]!.kind} ${problems[0]!.id} (${problems[0]!.detail}); run verify and repair first`,
      );
    }

    // Plan.
    const plans: PackPlan[] = [];
    for await (const o of repo.backend.list('data/')) {
      const id = packIdFromName(o.name);
      if (!id) continue;
      const indexedEntries = repo.index.packEntries(id);
      if (!indexedEntries) {
        if (isRecent(o.modified)) {
          plans.push({ id, size: o.size, entries: [], usedHere: [], action: 'recent' });
          continue;
        }
        // An old pack no index names: a crashed write. Keep it only if it holds a live blob the index lost.
        const entries = await readPackEntries(repo.backend, id, repo.keys.master.metaKey).catch(() => [] as PackEntry[]);
        const rescue = entries.filter((e) => used.has(e.id.toString('hex')) && !repo.index.has(e.id));
        plans.push({ id, size: o.size, entries, usedHere: rescue, action: rescue.length > 0 ? 'reindex' : 'delete' });
        continue;
      }
      const usedHere = indexedEntries.filter((e) => used.has(e.id.toString('hex')) && repo.index.get(e.id)?.packId === id);
      let action: PackPlan['action'] = 'keep';
      if (isRecent(o.modified)) action = 'recent';
      else if (usedHere.length === 0) action = 'delete';
      else {
        const liveBytes = usedHere.reduce((n, e) => n + e.length, 0);
        const allBytes = indexedEntries.reduce((n, e) => n + e.length, 0);
        if (allBytes > 0 && 1 - liveBytes / allBytes >= threshold) action = 'repack';
      }
      plans.push({ id, size: o.size, entries: indexedEntries, usedHere, action });
    }

    const report: GcReport = {
      snapshots: snapshots.length,
      walFiles: wal.files.length,
      blobsUsed: used.size,
      packs: { total: plans.length, kept: 0, deleted: 0, repacked: 0, recent: 0, reindexed: 0 },
      bytesFreed: 0,
      deksDestroyed: [],
      indexObjects: { written: 0, removed: 0 },
      dryRun: options.dryRun ?? false,
    };

    // Repack live blobs into new packs (sealed bytes copied: no key needed, nothing decrypted).
    const newPacks: { packId: string; entries: PackEntry[] }[] = [];
    const target = options.packTargetBytes ?? DEFAULT_PACK_TARGET_BYTES;
    let builder = repo.newPackBuilder();
    const closeBuilder = async () => {
      if (builder.count === 0) return;
      const pack = builder.finish(repo.keys.master.metaKey);
      builder = repo.newPackBuilder();
      try {
        if (!report.dryRun) await repo.backend.put(packName(pack.id), pack.parts[0]);
      } finally {
        pack.release();
      }
      newPacks.push({ packId: pack.id, entries: pack.entries });
    };
    for (const plan of plans.filter((p) => p.action === 'repack')) {
      const bytes = await repo.backend.get(packName(plan.id));
      if (createHash('sha256').update(bytes).digest('hex') !== plan.id) {
        throw new StorageError('CORRUPT', `GC stopped: pack ${plan.id} does not match its hash, so its live blobs cannot be copied; run verify`);
      }
      for (const e of plan.usedHere) {
        builder.add({ type: e.type, id: e.id, dekId: e.dekId, sealed: bytes.subarray(e.offset, e.offset + e.length), rawLength: e.rawLength, deltaBase: e.deltaBase });
        if (builder.size >= target) await closeBuilder();
      }
    }
    await closeBuilder();

    // Blobs a running backup was told exist since marking began keep their packs whole.
    const reused = repo.reusedSinceTracking();
    addDeltaBases(repo, reused, []);
    for (const plan of plans) {
      if ((plan.action === 'delete' || plan.action === 'repack') && plan.entries.some((e) => reused.has(e.id.toString('hex')) && !plan.usedHere.includes(e))) {
        plan.action = 'keep';
      }
    }

    // Listed before `remaining` is taken from memory, with no await in between: every index object
    // listed names only packs already in memory, so superseding it loses none of them.
    const oldIndex: string[] = [];
    for await (const id of repo.listObjects('index')) oldIndex.push(id);
    const dropped = new Set(plans.filter((p) => p.action === 'delete' || p.action === 'repack').map((p) => p.id));
    const remaining: { packId: string; entries: PackEntry[] }[] = [];
    for (const packId of repo.index.packIds()) if (!dropped.has(packId)) remaining.push({ packId, entries: [...repo.index.packEntries(packId)!] });
    for (const plan of plans) if (plan.action === 'reindex') remaining.push({ packId: plan.id, entries: [...plan.entries] });
    const keptNew = newPacks.filter((p) => !dropped.has(p.packId));

    const counter = { delete: 'deleted', repack: 'repacked', recent: 'recent', reindex: 'reindexed', keep: 'kept' } as const;
    for (const p of plans) {
      report.packs[counter[p.action]]++;
      if (p.action === 'delete') report.bytesFreed += p.size;
      if (p.action === 'repack') report.bytesFreed += p.size - p.usedHere.reduce((n, e) => n + e.length, 0);
    }

    // Data keys no remaining blob uses.
    const liveDeks = new Set<string>(options.protectedDeks ?? []);
    for (const p of [...remaining, ...keptNew]) for (const e of p.entries) liveDeks.add(e.dekId.toString('hex'));
    const dekObjects = new Map<string, Date | undefined>();
    for await (const o of repo.backend.list('keys/dek/')) dekObjects.set(o.name.slice('keys/dek/'.length), o.modified);
    const doomedDeks = [...dekObjects].filter(([hex, modified]) => !liveDeks.has(hex) && !isRecent(modified)).map(([hex]) => hex);
    report.deksDestroyed = doomedDeks;

    if (report.dryRun || (dropped.size === 0 && keptNew.length === 0 && report.packs.reindexed === 0 && doomedDeks.length === 0)) return report;

    // Sweep. The in-memory index changes first, before any await, so from here
    // on a concurrent backup uploads these blobs again instead of reusing them.
    for (const p of keptNew) repo.index.addPack(p.packId, p.entries);
    for (const p of plans) if (p.action === 'reindex') repo.index.addPack(p.id, p.entries);
    for (const id of dropped) repo.index.removePack(id);
    // Then on disk, in the order the format requires: new index -> old index objects -> packs -> keys.
    await repo.saveObject('index', encodeIndexFile({ supersedes: oldIndex, packs: [...remaining, ...keptNew] }));
    report.indexObjects.written = 1;
    for (const id of oldIndex) {
      await repo.deleteObject('index', id);
      report.indexObjects.removed++;
    }
    for (const id of dropped) await repo.backend.delete(packName(id));
    for (const hex of doomedDeks) await repo.keys.destroyDek(hex);
    return report;
  } finally {
    repo.reusedSinceTracking();
  }
}

/**
 * A delta blob is only as live as its base (docs/repository-format.md, "Delta
 * blobs"): adds the base of every delta blob in `ids`, as the index's primary
 * copy (the one GC keeps) names it. Writers never make a base that is itself
 * a delta, but a chain is followed to its end all the same.
 */
function addDeltaBases(repo: Repository, ids: Set<string>, problems: Problem[]): void {
  const todo = [...ids];
  while (todo.length > 0) {
    const hex = todo.pop()!;
    const base = repo.index.get(Buffer.from(hex, 'hex'))?.deltaBase;
    if (!base) continue;
    const baseHex = base.toString('hex');
    if (!repo.index.has(base)) problems.push({ kind: 'blob-missing', id: baseHex, detail: `base of delta blob ${hex} is not in the index` });
    if (ids.has(baseHex)) continue;
    ids.add(baseHex);
    todo.push(baseHex);
  }
}
