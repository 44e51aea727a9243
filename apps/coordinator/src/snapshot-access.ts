/**
 * Finding snapshots and what they reference. The catalog is a cache of the
 * repository (DESIGN decision 4): a snapshot missing from it is looked up in
 * the repository itself and put back.
 */
import { loadSnapshot, StorageError, type Repository, type SnapshotWithId } from '@pbk/storage';
import type { Catalog } from './catalog/index.js';
import { CoordinatorError } from './errors.js';
import { walkTrees } from './tree-walk.js';

export async function snapshotById(catalog: Catalog, repo: Repository, hex: string): Promise<SnapshotWithId> {
  const cached = await catalog.snapshots.get(hex);
  if (cached !== undefined) return cached;
  try {
    const s = await loadSnapshot(repo, hex);
    await catalog.snapshots.put(s);
    return s;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'NOT_FOUND') {
      throw new CoordinatorError('NOT_FOUND', `no snapshot ${hex}: list them with 'pbk snapshots'`);
    }
    throw err;
  }
}

/**
 * The ids (trees and data, latin1 keys) each recently used snapshot
 * references, so DownloadBlobs can refuse ids that are not part of the
 * snapshot it names. The base of a referenced delta blob counts as part of
 * the snapshot (its plaintext is needed to open the delta, and travels with
 * it anyway); a base no referenced blob needs does not. Kept for the last few
 * snapshots only.
 */
export class ReferenceCache {
  readonly #sets = new Map<string, Promise<Set<string>>>();
  /** The snapshots whose sets are kept: a restore's many DownloadBlobs calls look theirs up here, not in the catalog each time. */
  readonly #snapshots = new Map<string, SnapshotWithId>();

  constructor(
    private readonly repo: Repository,
    private readonly capacity: number,
  ) {}

  get(snapshot: SnapshotWithId): Promise<Set<string>> {
    let p = this.#sets.get(snapshot.id);
    if (p !== undefined) {
      // Most recently used last.
      this.#sets.delete(snapshot.id);
      this.#sets.set(snapshot.id, p);
      return p;
    }
    p = this.#walk(snapshot.tree);
    p.catch(() => {
      this.#sets.delete(snapshot.id);
      this.#snapshots.delete(snapshot.id);
    });
    this.#sets.set(snapshot.id, p);
    this.#snapshots.set(snapshot.id, snapshot);
    while (this.#sets.size > this.capacity) {
      const oldest = this.#sets.keys().next().value;
      if (oldest === undefined) break;
      this.#sets.delete(oldest);
      this.#snapshots.delete(oldest);
    }
    return p;
  }

  /**
   * Walks a just-committed snapshot in the background. The next incremental
   * run of its source reads the snapshot's trees through DownloadBlobs, which
   * needs this set; built on demand, the run's first tree waited for the walk
   * of every tree (~0.1 s per GiB of files, at the start of every incremental
   * backup). The work is the same, done while the coordinator is otherwise idle.
   */
  warm(snapshot: SnapshotWithId): void {
    setImmediate(() => {
      // A failure here only means the next DownloadBlobs walks again (and reports it).
      this.get(snapshot).catch(() => undefined);
    });
  }

  /** A snapshot whose references are kept (snapshots never change), or undefined. */
  snapshot(hex: string): SnapshotWithId | undefined {
    return this.#snapshots.get(hex);
  }

  async #walk(rootHex: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const add = (hex: string): void => {
      ids.add(Buffer.from(hex, 'hex').toString('latin1'));
    };
    const addData = (hex: string): void => {
      const id = Buffer.from(hex, 'hex');
      ids.add(id.toString('latin1'));
      const base = this.repo.index.get(id)?.deltaBase;
      if (base !== undefined) ids.add(base.toString('latin1'));
    };
    await walkTrees(this.repo, rootHex, { onTree: add, onBlob: addData });
    return ids;
  }
}
