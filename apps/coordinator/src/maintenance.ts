/**
 * Repository maintenance, run by the single writer (DESIGN decision 5) on an
 * interval inside `serve` and on demand (OperatorService.CompactRepository,
 * `pbk repo compact`):
 *   1. WAL manifests for complete WAL files the catalog has and the repository
 *      lacks (files recorded before manifests existed), so the repository
 *      alone describes the complete WAL (docs/repository-format.md); by the
 *      first interval run and every operator run (PutWal writes the manifest
 *      before the catalog row, so nothing new can lack one);
 *   2. compaction (@pbk/storage Compactor): small packs from durable WAL
 *      uploads merged into full-size ones, index objects and WAL manifests
 *      merged, replaced packs deleted after a delay.
 * One run at a time. GC is not run here (retention is a later issue); it is
 * safe with WAL now that manifests exist, given the content of WAL files
 * still growing (GcOptions.liveBlobs), which only the catalog records.
 */
import { Compactor, loadWalManifests, saveWalManifest, walFileKey, type CompactReport, type Logger, type Repository, type WalManifestFile } from '@pbk/storage';
import type { BlobStore } from './blob-store.js';
import type { Catalog } from './catalog/index.js';
import type { Metrics } from './metrics.js';
import { Mutex } from './util/mutex.js';

export interface MaintenanceSettings {
  /** Between two interval runs; 0 turns the interval off (on demand only). */
  intervalMs: number;
  compactGraceMs: number;
  compactDeleteDelayMs: number;
  compactMinPacks: number;
  packTargetBytes: number;
}

export interface MaintenanceReport extends CompactReport {
  walFilesBackfilled: number;
}

/** Files per backfilled manifest: one object per file would recreate the small-object problem. */
const BACKFILL_FILES_PER_MANIFEST = 1024;
const PAGE = 1000;

export class Maintenance {
  readonly #mutex = new Mutex();
  readonly #compactor: Compactor;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** PutWal writes a manifest before the catalog row, so after one backfill only an operator's run looks again. */
  #backfilled = false;

  constructor(
    private readonly deps: { repo: Repository; store: BlobStore; catalog: Catalog; metrics: Metrics; logger: Logger },
    private readonly settings: MaintenanceSettings,
  ) {
    this.#compactor = new Compactor(deps.repo);
  }

  /** Starts the interval (nothing when intervalMs is 0). The first run comes one interval after start. */
  start(): void {
    if (this.settings.intervalMs <= 0) return;
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.#running = this.run({ trigger: 'interval' })
          .catch(() => undefined)
          .finally(() => {
            if (!this.#stopped) tick();
          });
      }, this.settings.intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** Stops the interval and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#mutex.run(async () => undefined);
  }

  /** Runs `fn` while no maintenance runs (verify: compaction deletes index objects and packs it would be reading). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(fn);
  }

  run(o: { dryRun?: boolean; trigger: 'interval' | 'operator'; graceMs?: number }): Promise<MaintenanceReport> {
    return this.#mutex.run(async () => {
      const { repo, store, metrics, logger } = this.deps;
      const started = Date.now();
      try {
        const backfill = !o.dryRun && (o.trigger === 'operator' || !this.#backfilled);
        const walFilesBackfilled = backfill ? await this.backfillWalManifests() : 0;
        if (backfill) this.#backfilled = true;
        const report = await this.#compactor.run({
          graceMs: o.graceMs ?? this.settings.compactGraceMs,
          deleteDelayMs: this.settings.compactDeleteDelayMs,
          minPacks: this.settings.compactMinPacks,
          packTargetBytes: this.settings.packTargetBytes,
          dryRun: o.dryRun ?? false,
          onSwap: (added, removed) => store.packsReplaced(added, removed),
        });
        const full: MaintenanceReport = { ...report, walFilesBackfilled, durationMs: Date.now() - started };
        if (!full.dryRun) metrics.recordCompaction(full, repo.now());
        logger.info({ trigger: o.trigger, ...flatten(full) }, full.dryRun ? 'compaction planned (dry run)' : 'compaction done');
        return full;
      } catch (err) {
        metrics.compactionFailures++;
        logger.error({ trigger: o.trigger, err: (err as Error).message }, 'compaction failed; the repository is unchanged or consistent, the next run carries on');
        throw err;
      }
    });
  }

  /** Writes WAL manifests for complete catalog files no manifest names (with the same content). */
  private async backfillWalManifests(): Promise<number> {
    const { repo, catalog } = this.deps;
    const have = new Map<string, string>();
    for (const f of (await loadWalManifests(repo)).files) have.set(walFileKey(f), f.sha256);
    const missing: WalManifestFile[] = [];
    for (const src of await catalog.wal.sources()) {
      let from = '';
      for (;;) {
        const rows = await catalog.wal.list(src.host, src.sourceName, from, PAGE + 1);
        for (const r of rows.slice(0, PAGE)) {
          const f: WalManifestFile = { host: r.host, source: r.sourceName, name: r.fileName, size: r.size, sha256: r.sha256, content: r.content };
          if (r.complete && have.get(walFileKey(f)) !== r.sha256) missing.push(f);
        }
        if (rows.length <= PAGE) break;
        from = rows[PAGE]!.fileName;
      }
    }
    for (let i = 0; i < missing.length; i += BACKFILL_FILES_PER_MANIFEST) {
      await saveWalManifest(repo, { supersedes: [], files: missing.slice(i, i + BACKFILL_FILES_PER_MANIFEST) });
      this.deps.metrics.walManifestsWritten++;
    }
    if (missing.length > 0) this.deps.logger.info({ files: missing.length }, 'WAL manifests written for complete WAL files only the catalog recorded');
    return missing.length;
  }
}

function flatten(r: MaintenanceReport): Record<string, unknown> {
  return {
    packsBefore: r.packs.before,
    packsAfter: r.packs.after,
    packsSmall: r.packs.small,
    packsCompacted: r.packs.compacted,
    packsWritten: r.packs.written,
    packsDeleted: r.packs.deleted,
    orphansDeleted: r.packs.orphansDeleted,
    orphansKept: r.packs.orphansKept,
    pendingDeletes: r.pendingDeletes,
    blobsCopied: r.blobsCopied,
    bytesCopied: r.bytesCopied,
    indexObjects: r.indexObjects,
    walManifests: r.walManifests,
    walFilesBackfilled: r.walFilesBackfilled,
    durationMs: r.durationMs,
  };
}
