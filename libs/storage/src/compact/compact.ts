import { createHash } from 'node:crypto';
import { NotFoundError, StorageError } from '../errors.js';
import { encodeIndexFile, type IndexFile } from '../index/index.js';
import { entriesBytes, packIdFromName, packName, readPackEntries, type PackEntry } from '../pack/index.js';
import { DEFAULT_PACK_TARGET_BYTES, type Repository } from '../repository/index.js';
import { loadWalManifests, saveWalManifest, type WalManifestFile } from '../wal/index.js';

/**
 * Compaction (docs/repository-format.md, "Compaction"): merges the small packs
 * that durable WAL uploads leave (every PutWal closes a pack, up to several a
 * second) into full-size ones, and the many small index objects and WAL
 * manifests into few. Sealed blob bytes are copied unchanged (as GC's repack
 * does: nothing is decrypted, no key is needed). Order on disk, each step safe
 * to crash after:
 *   1. new packs (durable)                  -> crash: unindexed copies, swept later
 *   2. index object A naming the new packs  -> crash: every blob named twice, harmless
 *   3. index object B superseding the old index objects (and naming the packs of
 *      theirs that were not compacted; one object with A when those are all full)
 *                                           -> crash: the old packs are unindexed, swept later
 *   4. the superseded index objects deleted
 *   5. the old packs deleted only after `deleteDelayMs`, so a reader that looked
 *      a blob up before step 3 still finds its bytes.
 * One writer (the coordinator) runs it, never at the same time as GC; uploads
 * may run concurrently: they only ever add packs and index objects, which this
 * neither reads nor supersedes once it has listed what it works on.
 */
export interface CompactOptions {
  /**
   * Packs written less than this long ago are left alone: under constant WAL
   * traffic they are followed by more small packs, and merging once per period
   * rather than continuously bounds the rewriting. 10 min.
   */
  graceMs?: number;
  /** A pack smaller than this is "small". Default: half the target, so a full pack is never rewritten. */
  smallPackBytes?: number;
  /** Size of the packs written. Default the repository's 16 MiB. */
  packTargetBytes?: number;
  /** Fewer small packs than this are not worth a run (the index objects are still merged). 8. */
  minPacks?: number;
  /** Upper bound of blob bytes copied per run, so one run never holds the writer for long. 1 GiB. */
  maxBytes?: number;
  /** Index objects with fewer entries than this are merged (a flush writes one per durable upload). 4096 (256 KiB). */
  smallIndexEntries?: number;
  /** WAL manifests with fewer files than this are merged (one is written per complete WAL file). 1024. */
  smallWalFiles?: number;
  /**
   * Replaced packs are deleted this long after the index stopped naming them:
   * a restore or GetWal stream looks each blob up just before reading it, so
   * minutes are ample. 10 min. Packs still waiting when the process ends are
   * found again as unindexed packs and deleted by a later run.
   */
  deleteDelayMs?: number;
  /** Report what would happen, change nothing. */
  dryRun?: boolean;
  /**
   * Called just before the in-memory index swaps packs: `added` are named by a
   * durable index object already, `removed` leave the index (their files stay
   * until the delete delay is over). The coordinator's BlobStore tracks both.
   */
  onSwap?: (added: readonly string[], removed: readonly string[]) => void;
}

export interface CompactReport {
  packs: { before: number; small: number; compacted: number; written: number; deleted: number; orphansDeleted: number; orphansKept: number; after: number };
  blobsCopied: number;
  bytesCopied: number;
  indexObjects: { before: number; written: number; removed: number };
  walManifests: { before: number; written: number; removed: number };
  /** Replaced packs not yet deleted (waiting for deleteDelayMs). */
  pendingDeletes: number;
  durationMs: number;
  dryRun: boolean;
}

interface Compiled {
  graceMs: number;
  smallPackBytes: number;
  packTargetBytes: number;
  minPacks: number;
  maxBytes: number;
  smallIndexEntries: number;
  smallWalFiles: number;
  deleteDelayMs: number;
  dryRun: boolean;
  onSwap: (added: readonly string[], removed: readonly string[]) => void;
}

export const COMPACT_DEFAULTS = {
  graceMs: 10 * 60_000,
  minPacks: 8,
  maxBytes: 1024 * 1024 * 1024,
  smallIndexEntries: 4096,
  smallWalFiles: 1024,
  deleteDelayMs: 10 * 60_000,
} as const;

function compile(o: CompactOptions): Compiled {
  const packTargetBytes = o.packTargetBytes ?? DEFAULT_PACK_TARGET_BYTES;
  return {
    graceMs: o.graceMs ?? COMPACT_DEFAULTS.graceMs,
    smallPackBytes: o.smallPackBytes ?? Math.floor(packTargetBytes / 2),
    packTargetBytes,
    minPacks: o.minPacks ?? COMPACT_DEFAULTS.minPacks,
    maxBytes: o.maxBytes ?? COMPACT_DEFAULTS.maxBytes,
    smallIndexEntries: o.smallIndexEntries ?? COMPACT_DEFAULTS.smallIndexEntries,
    smallWalFiles: o.smallWalFiles ?? COMPACT_DEFAULTS.smallWalFiles,
    deleteDelayMs: o.deleteDelayMs ?? COMPACT_DEFAULTS.deleteDelayMs,
    dryRun: o.dryRun ?? false,
    onSwap: o.onSwap ?? (() => {}),
  };
}

/**
 * An unindexed pack younger than this is never deleted, whatever the options:
 * the writer adds a pack to its in-memory index only after the write returns,
 * so a pack just renamed into place can look unindexed for a moment.
 */
const ORPHAN_MIN_AGE_MS = 60_000;

/** Byte size of a pack file holding these entries (header, blobs, sealed trailer, its length). */
function packBytes(entries: readonly PackEntry[]): number {
  return 8 + entries.reduce((n, e) => n + e.length, 0) + 12 + entriesBytes(entries) + 16 + 4;
}

/**
 * Keeps, between runs, the packs replaced and not yet deleted. One per
 * repository handle, used by one caller at a time (the coordinator serializes
 * maintenance).
 */
export class Compactor {
  /** packId -> when it may be deleted (ms). */
  private readonly pending = new Map<string, number>();

  constructor(private readonly repo: Repository) {}

  get pendingDeletes(): number {
    return this.pending.size;
  }

  async run(options: CompactOptions = {}): Promise<CompactReport> {
    const o = compile(options);
    const repo = this.repo;
    const started = repo.now().getTime();
    const report: CompactReport = {
      packs: { before: 0, small: 0, compacted: 0, written: 0, deleted: 0, orphansDeleted: 0, orphansKept: 0, after: 0 },
      blobsCopied: 0,
      bytesCopied: 0,
      indexObjects: { before: 0, written: 0, removed: 0 },
      walManifests: { before: 0, written: 0, removed: 0 },
      pendingDeletes: 0,
      durationMs: 0,
      dryRun: o.dryRun,
    };

    // Replaced packs whose delay is over (no index names them since an earlier run).
    if (!o.dryRun) await this.deleteDue(started, report);

    // What the durable index is: every index object, read from disk (not the in-memory index,
    // which also knows packs whose index object is not written yet).
    const files = new Map<string, IndexFile>();
    for await (const id of repo.listObjects('index')) {
      try {
        files.set(id, await repo.loadIndexFile(id));
      } catch (err) {
        // Removed under us cannot happen (one maintenance at a time); anything else is damage: stop, change nothing.
        throw new StorageError('FAILED_PRECONDITION', `compaction stopped before changing anything: index object ${id} cannot be read (${(err as Error).message}); run verify`, { cause: err });
      }
    }
    const superseded = new Set<string>();
    for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
    const live = [...files].filter(([id]) => !superseded.has(id));
    const leftovers = [...files.keys()].filter((id) => superseded.has(id));
    report.indexObjects.before = live.length;
    /** packId -> entries, for every pack a live index object names. */
    const durable = new Map<string, readonly PackEntry[]>();
    for (const [, f] of live) for (const p of f.packs) if (!durable.has(p.packId)) durable.set(p.packId, p.entries);
    const durableBlobs = new Map<string, Set<string>>();
    for (const [packId, entries] of durable) {
      for (const e of entries) {
        const k = e.id.toString('latin1');
        let s = durableBlobs.get(k);
        if (s === undefined) durableBlobs.set(k, (s = new Set()));
        s.add(packId);
      }
    }

    // Packs on disk: their age, and the unindexed ones (a crashed write or a crashed compaction).
    const modified = new Map<string, number>();
    const orphans: string[] = [];
    for await (const obj of repo.backend.list('data/')) {
      const id = packIdFromName(obj.name);
      if (id === undefined) continue;
      report.packs.before++;
      modified.set(id, obj.modified?.getTime() ?? started);
      if (!durable.has(id) && !repo.index.hasPack(id) && !this.pending.has(id)) orphans.push(id);
    }
    const old = (id: string, age: number) => started - (modified.get(id) ?? started) >= age;

    // Candidates: small, old enough, and in the in-memory index as well (whose entries the swap replaces).
    // Smallest first; a pack of TINY or more joins only when what is chosen already is at least its
    // size, so a merged pack that is not full yet is rewritten only when that doubles it: with a slow
    // WAL each byte is copied a few times (log2 of target / tiny), not once per run until full.
    const small = [...durable].filter(([id, entries]) => modified.has(id) && packBytes(entries) < o.smallPackBytes);
    report.packs.small = small.length;
    const tiny = Math.min(1024 * 1024, o.smallPackBytes / 4);
    const eligible = small
      .filter(([id]) => old(id, o.graceMs) && repo.index.hasPack(id))
      .map(([id, entries]) => ({ id, bytes: entries.reduce((n, e) => n + e.length, 0) }))
      .sort((a, b) => a.bytes - b.bytes);
    const chosen: string[] = [];
    let sum = 0;
    for (const c of eligible) {
      if (chosen.length > 0 && (sum + c.bytes > o.maxBytes || (c.bytes >= tiny && c.bytes > sum))) break;
      sum += c.bytes;
      chosen.push(c.id);
    }
    const compacted = new Set(chosen.length >= o.minPacks ? chosen : []);

    // Index objects replaced: those naming a compacted pack, and the small ones (merged).
    const entriesOf = (f: IndexFile) => f.packs.reduce((n, p) => n + p.entries.length, 0);
    const replaced = live.filter(([, f]) => f.packs.some((p) => compacted.has(p.packId)) || entriesOf(f) < o.smallIndexEntries).map(([id]) => id);
    const worthIt = compacted.size > 0 || replaced.length > 1 || leftovers.length > 0;

    if (!o.dryRun && worthIt) {
      // 1. Copy the blobs of the compacted packs into new packs. A blob also durable in a pack
      //    we keep is not copied again; one in two compacted packs is copied once.
      const newPacks: { packId: string; entries: PackEntry[] }[] = [];
      const copied = new Set<string>();
      let builder = repo.newPackBuilder();
      const close = async (): Promise<void> => {
        if (builder.count === 0) return;
        const pack = builder.finish(repo.keys.master.metaKey);
        builder = repo.newPackBuilder();
        try {
          await repo.backend.put(packName(pack.id), pack.parts[0]);
        } finally {
          pack.release();
        }
        newPacks.push({ packId: pack.id, entries: pack.entries });
      };
      for (const packId of compacted) {
        const bytes = await repo.backend.get(packName(packId));
        if (createHash('sha256').update(bytes).digest('hex') !== packId) {
          throw new StorageError('CORRUPT', `compaction stopped: pack ${packId} does not match its hash, so its blobs cannot be copied; run verify`);
        }
        for (const e of durable.get(packId)!) {
          const k = e.id.toString('latin1');
          if (copied.has(k) || [...(durableBlobs.get(k) ?? [])].some((p) => !compacted.has(p))) continue;
          copied.add(k);
          builder.add({ type: e.type, id: e.id, dekId: e.dekId, sealed: bytes.subarray(e.offset, e.offset + e.length), rawLength: e.rawLength, deltaBase: e.deltaBase });
          report.blobsCopied++;
          report.bytesCopied += e.length;
          if (builder.size >= o.packTargetBytes) await close();
        }
      }
      await close();

      // 2. Index object A: the new packs, and the full packs of replaced index objects (a stable
      //    object that later runs leave alone once it is big enough); crash after: blobs named twice.
      const replacedSet = new Set(replaced);
      const carried = new Map<string, PackEntry[]>();
      for (const id of replaced) for (const p of files.get(id)!.packs) if (!compacted.has(p.packId)) carried.set(p.packId, p.entries);
      const full: { packId: string; entries: PackEntry[] }[] = [];
      const rest: { packId: string; entries: PackEntry[] }[] = [];
      for (const [packId, entries] of carried) (packBytes(entries) >= o.smallPackBytes ? full : rest).push({ packId, entries });
      // 3. Index object B supersedes what was replaced (and leftovers an interrupted run or GC
      //    left, so deleting their superseder never revives them), naming the small packs kept
      //    (young ones, compacted by a later run). With none of those, A is B.
      const supersedes = [...replaced, ...leftovers];
      if (rest.length > 0 && newPacks.length + full.length > 0) {
        await repo.saveObject('index', encodeIndexFile({ supersedes: [], packs: [...newPacks, ...full] }));
        report.indexObjects.written++;
        await repo.saveObject('index', encodeIndexFile({ supersedes, packs: rest }));
      } else {
        await repo.saveObject('index', encodeIndexFile({ supersedes, packs: [...newPacks, ...full, ...rest] }));
      }
      report.indexObjects.written++;
      // In memory: new packs first, then the old ones leave, with no await in between, so every
      // blob always resolves (removePack promotes the copy in the new pack). Durable packs memory
      // lacks (index object A of a run that failed before B) come in too: they may hold the copy.
      const adopt = [...newPacks, ...[...durable].filter(([id]) => !repo.index.hasPack(id)).map(([packId, entries]) => ({ packId, entries }))];
      o.onSwap(adopt.map((p) => p.packId), [...compacted]);
      for (const p of adopt) repo.index.addPack(p.packId, p.entries);
      for (const id of compacted) repo.index.removePack(id);
      // 5 (scheduled before 4 can fail): the old packs go after the delay.
      for (const id of compacted) this.pending.set(id, started + o.deleteDelayMs);
      for (const p of newPacks) for (const e of p.entries) durableBlobs.set(e.id.toString('latin1'), new Set([p.packId]));
      // 4. The superseded index objects.
      for (const id of [...replaced, ...leftovers]) {
        await deleteIfPresent(repo, `index/${id}`);
        if (replacedSet.has(id)) report.indexObjects.removed++;
      }
      report.packs.compacted = compacted.size;
      report.packs.written = newPacks.length;
    } else if (o.dryRun) {
      report.packs.compacted = compacted.size;
    }

    // Unindexed packs past the grace period and the delete delay: deleted when every blob of
    // theirs is durable elsewhere (a replaced pack, or the output of a crashed run); otherwise
    // kept for GC or repair-index to judge (a crashed write may hold the only copy).
    for (const id of orphans) {
      if (!old(id, Math.max(o.graceMs, o.deleteDelayMs, ORPHAN_MIN_AGE_MS))) continue;
      let entries: PackEntry[];
      try {
        entries = await readPackEntries(repo.backend, id, repo.keys.master.metaKey);
      } catch {
        report.packs.orphansKept++;
        continue;
      }
      const elsewhere = entries.every((e) => [...(durableBlobs.get(e.id.toString('latin1')) ?? [])].some((p) => p !== id && !compacted.has(p)));
      if (!elsewhere) {
        report.packs.orphansKept++;
        continue;
      }
      if (!o.dryRun) await deleteIfPresent(repo, packName(id));
      report.packs.orphansDeleted++;
    }

    if (!o.dryRun) {
      await this.compactWal(o, report);
      await this.deleteDue(repo.now().getTime(), report);
    }
    report.pendingDeletes = this.pending.size;
    report.packs.after = report.packs.before - report.packs.deleted - report.packs.orphansDeleted + report.packs.written;
    report.durationMs = repo.now().getTime() - started;
    return report;
  }

  private async deleteDue(now: number, report: CompactReport): Promise<void> {
    for (const [packId, due] of this.pending) {
      if (due > now) continue;
      await deleteIfPresent(this.repo, packName(packId));
      this.pending.delete(packId);
      report.packs.deleted++;
    }
  }

  /** Merges small WAL manifests into one that supersedes them (and any leftover superseded ones). */
  private async compactWal(o: Compiled, report: CompactReport): Promise<void> {
    const repo = this.repo;
    const set = await loadWalManifests(repo);
    const leftovers = [...set.objects.keys()].filter((id) => set.superseded.has(id));
    const small = [...set.objects].filter(([id, m]) => !set.superseded.has(id) && m.files.length < o.smallWalFiles);
    report.walManifests.before = set.objects.size - leftovers.length;
    if (small.length < 2 && leftovers.length === 0) return;
    const files: WalManifestFile[] = [];
    const seen = new Set<string>();
    for (const [, m] of small) {
      for (const f of m.files) {
        const k = `${f.host}\n${f.source}\n${f.name}\n${f.sha256}`;
        if (!seen.has(k)) files.push(f);
        seen.add(k);
      }
    }
    const ids = small.map(([id]) => id);
    await saveWalManifest(repo, { supersedes: [...ids, ...leftovers], files });
    report.walManifests.written++;
    for (const id of [...ids, ...leftovers]) await deleteIfPresent(repo, `wal/${id}`);
    report.walManifests.removed = ids.length;
  }
}

async function deleteIfPresent(repo: Repository, name: string): Promise<void> {
  try {
    await repo.backend.delete(name);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}
