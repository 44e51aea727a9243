/**
 * The coordinator's single writer over the repository (DESIGN decision 5):
 * checks every uploaded blob, adds it to the open pack, and makes uploads
 * durable before they are acknowledged.
 *
 * Durable means: the blob's pack is written (fsynced, renamed) AND an index
 * object naming that pack is written. The Repository's in-memory index learns
 * a pack when its write completes, before any index object names it, so
 * `index.has(id)` alone is not durability. This class keeps the set of packs
 * known to be indexed durably:
 *   - every pack loaded from index objects at open;
 *   - after each successful flush, every pack that was complete when the
 *     flush started (the flush's index object took all of them: index objects
 *     are written only by flushes, which are serialized here, because the
 *     coordinator opens the repository with the periodic index write off).
 * A blob whose pack is not in that set yet is "in flight": another flush
 * settles it. A blob that is neither indexed nor pending in the Repository was
 * lost with a failed pack write and must be uploaded again.
 *
 * Blob writes from many upload streams still go straight into the pack
 * builder (synchronous up to the pack write), so uploads stream in parallel.
 * The receipt check (open + id check, DESIGN decision 11a) runs in an
 * OpenPool's threads: on this thread it blocked every other stream's I/O.
 */
import { EventEmitter } from 'node:events';
import type { Dek } from '@pbk/crypto';
import { OpenPool, silentLogger, type Logger, type Repository } from '@pbk/storage';
import { SharedRing, type BlobAllocator, type WireBlob } from '@pbk/protocol';
import { DeltaBaseReader } from './delta-base.js';
import { CoordinatorError } from './errors.js';
import { Mutex } from './util/mutex.js';

export type AcceptOutcome = 'stored' | 'duplicate';

export interface Accepted {
  outcome: AcceptOutcome;
  /** Sealed bytes this call added to the repository: the delta's when stored as one, 0 for a duplicate. */
  storedBytes: number;
  /** Stored as a delta: its full sealed size minus the delta's (0 otherwise). */
  deltaSavedBytes: number;
}

/** What the receipt check hands back to be stored. */
interface Checked {
  sealed: Buffer;
  deltaBase?: Buffer;
  fullLength: number;
}
export type BlobState = 'durable' | 'in-flight' | 'absent';

/**
 * Shared memory for uploaded blobs between their wire message and their pack:
 * room for every stream's MAX_ACCEPTING_BYTES (16 MiB) of a few agents at once;
 * beyond that blobs get memory of their own.
 */
export const UPLOAD_RING_BYTES = 64 * 1024 * 1024;

/** Flushes makeDurable tries before giving up on blobs still in flight (each waits for every pack write it can see). */
const MAX_FLUSH_ROUNDS = 4;

function key(id: Buffer): string {
  return id.toString('latin1');
}

export class BlobStore {
  /** Blobs handed to addBlob whose pack is not yet durably indexed (latin1 id keys). */
  readonly #accepted = new Set<string>();
  readonly #durablePacks: Set<string>;
  readonly #flushMutex = new Mutex();
  readonly #events = new EventEmitter();
  readonly #countedPacks = new Set<string>();
  /** Blobs being checked (latin1 id keys): another stream's copy waits for the outcome instead of checking twice. */
  readonly #checking = new Map<string, Promise<void>>();
  readonly #open: OpenPool;
  readonly #bases: DeltaBaseReader;
  readonly #ring = new SharedRing(UPLOAD_RING_BYTES);
  #storedBytes = 0;

  /**
   * Memory for UploadBlobs' assemblers: reused shared memory that the check
   * threads read in place and addBlob copies into the pack (shared-ring.ts
   * says why). accept() gives it back.
   */
  readonly allocate: BlobAllocator = (size) => this.#ring.allocate(size);

  /** `open` checks uploaded blobs; by default a pool of this store's own (close() stops it). */
  constructor(
    readonly repo: Repository,
    open?: OpenPool,
    logger: Logger = silentLogger,
  ) {
    this.#events.setMaxListeners(0);
    this.#durablePacks = new Set(repo.index.packIds());
    this.#open = open ?? new OpenPool();
    this.#bases = new DeltaBaseReader(repo, logger);
  }

  /** Stops the check threads; blobs still being checked fail (their streams are not acknowledged). */
  close(): Promise<void> {
    return this.#open.close();
  }

  state(id: Buffer): BlobState {
    const entry = this.repo.index.get(id);
    if (entry !== undefined && this.#durablePacks.has(entry.packId)) return 'durable';
    if (entry !== undefined) return 'in-flight';
    return this.#accepted.has(key(id)) && this.repo.hasBlob(id) ? 'in-flight' : 'absent';
  }

  isDurable(id: Buffer): boolean {
    return this.state(id) === 'durable';
  }

  /** MissingBlobs told a run to upload these: whatever this store remembered of them is stale. */
  forget(ids: readonly Buffer[]): void {
    for (const id of ids) this.#accepted.delete(key(id));
  }

  /**
   * Checks one uploaded blob and adds it to the open pack. The blob must be
   * sealed with the run's DEK, and opening it must give plaintext that hashes
   * to its id (openChunk, in the open pool): otherwise CORRUPT, and nothing of
   * it is stored. A blob another stream is checking right now waits for that
   * check: stored by the other stream it is a duplicate, refused there it is
   * checked again here. A data blob whose delta hint names a data blob stored
   * whole is stored as a delta against it when that pays (delta-base.ts).
   * Borrowed memory (blob.release) is given back when this settles.
   */
  async accept(dek: Dek, blob: WireBlob): Promise<Accepted> {
    try {
      return await this.#accept(dek, blob);
    } finally {
      blob.release?.();
    }
  }

  /** Bytes of the shared ring lent out now (metrics, tests). */
  get ringBytesInUse(): number {
    return this.#ring.inUse;
  }

  async #accept(dek: Dek, blob: WireBlob): Promise<Accepted> {
    const k = key(blob.id);
    for (let other = this.#checking.get(k); other !== undefined; other = this.#checking.get(k)) await other.catch(() => undefined);
    if (this.state(blob.id) !== 'absent') return { outcome: 'duplicate', storedBytes: 0, deltaSavedBytes: 0 };
    if (!blob.dekId.equals(dek.id)) {
      throw new CoordinatorError(
        'INVALID_ARGUMENT',
        `blob ${blob.id.toString('hex')} is sealed with data key ${blob.dekId.toString('hex')}, but this run's key is ${dek.id.toString('hex')}: seal every blob of a run with the DEK BeginBackup returned`,
      );
    }
    // Marked before the first await, so no other stream checks or adds the same id meanwhile.
    const check = this.#check(dek, blob);
    // Waiters only need the moment it settles (they look at the store again); never an unhandled rejection.
    this.#checking.set(
      k,
      check.then(
        () => undefined,
        () => undefined,
      ),
    );
    let checked: Checked;
    try {
      // Throws BlobCorruptError (CORRUPT) on a bad tag, bad compression or a plaintext that does not hash to the id.
      checked = await check;
    } finally {
      this.#checking.delete(k);
    }
    // No await between the end of the check and here: streams waiting for it resume after this add and see the id.
    this.#accepted.add(k);
    const { sealed, deltaBase } = checked;
    try {
      // addBlob copies the bytes into the pack: the blob's memory can go back when this settles.
      await this.repo.addBlob({ type: blob.type === 'BLOB_TYPE_TREE' ? 'tree' : 'data', id: blob.id, dekId: blob.dekId, sealed, rawLength: blob.rawLength, ...(deltaBase ? { deltaBase } : {}) });
    } catch (err) {
      if (!this.repo.index.has(blob.id)) this.#accepted.delete(k);
      throw err;
    }
    return { outcome: 'stored', storedBytes: sealed.length, deltaSavedBytes: checked.fullLength - sealed.length };
  }

  /**
   * The receipt check, and the delta against the hinted base when it pays.
   * The blob's bytes are read in place from the shared ring, or moved to the
   * check thread and back (a blob in memory of its own), never copied.
   */
  async #check(dek: Dek, blob: WireBlob): Promise<Checked> {
    const idKey = this.repo.keys.master.idKey;
    const baseId = this.#bases.candidate(blob);
    const base = baseId === undefined ? undefined : await this.#bases.read(baseId, blob.id);
    if (base === undefined) {
      const sealed = await this.#open.verifyMoving(dek, idKey, blob.id, blob.sealed, blob.rawLength);
      return { sealed, fullLength: sealed.length };
    }
    const r = await this.#open.checkForDelta(dek, idKey, blob.id, blob.sealed, blob.rawLength, base);
    if (r.baseProblem !== undefined) this.#bases.problem(base.id, blob.id, r.baseProblem, 'CORRUPT');
    if (r.delta === undefined) return { sealed: r.sealed, fullLength: r.sealed.length };
    return { sealed: r.delta, deltaBase: base.id, fullLength: r.sealed.length };
  }

  /**
   * Resolves once every id in `ids` is durable: the acknowledgement an agent
   * may rely on. UNAVAILABLE when one was lost with a failed pack write (the
   * agent asks MissingBlobs again and re-uploads it).
   */
  async makeDurable(ids: readonly Buffer[]): Promise<void> {
    for (let round = 0; round < MAX_FLUSH_ROUNDS; round++) {
      await this.flush();
      let inFlight = 0;
      const lost: Buffer[] = [];
      for (const id of ids) {
        const s = this.state(id);
        if (s === 'in-flight') inFlight++;
        else if (s === 'absent') lost.push(id);
      }
      if (lost.length > 0) {
        throw new CoordinatorError(
          'UNAVAILABLE',
          `${lost.length} blob(s) of this upload (first ${lost[0]!.toString('hex')}) did not become durable: a pack write failed (the coordinator log says why); ask MissingBlobs again and upload what it reports`,
        );
      }
      if (inFlight === 0) return;
    }
    throw new CoordinatorError('UNAVAILABLE', 'blobs of this upload are still being written after several flushes: the repository is overloaded or failing; retry the upload');
  }

  /** One flush at a time (see the top of this file for why that is what makes "durable" true). */
  async flush(): Promise<void> {
    await this.#flushMutex.run(async () => {
      const complete = [...this.repo.index.packIds()];
      try {
        await this.repo.flush();
        for (const p of complete) this.#durablePacks.add(p);
      } finally {
        for (const k of [...this.#accepted]) {
          const id = Buffer.from(k, 'latin1');
          const s = this.state(id);
          if (s === 'durable' || s === 'absent') this.#accepted.delete(k);
        }
        this.#events.emit('flushed');
      }
    });
  }

  /** Resolves at the next completed flush, or after `ms`. */
  nextFlush(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off('flushed', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#events.on('flushed', done);
    });
  }

  /**
   * Compaction (maintenance.ts) swapped packs: `added` are named by a durable
   * index object already (no flush wrote them), `removed` leave the index.
   */
  packsReplaced(added: readonly string[], removed: readonly string[]): void {
    for (const p of added) this.#durablePacks.add(p);
    for (const p of removed) {
      this.#durablePacks.delete(p);
      if (this.#countedPacks.delete(p)) for (const e of this.repo.index.packEntries(p) ?? []) this.#storedBytes -= e.length;
    }
  }

  /** Sealed bytes in indexed packs; counted once per pack. */
  storedBytes(): number {
    for (const packId of this.repo.index.packIds()) {
      if (this.#countedPacks.has(packId)) continue;
      this.#countedPacks.add(packId);
      for (const e of this.repo.index.packEntries(packId) ?? []) this.#storedBytes += e.length;
    }
    return this.#storedBytes;
  }
}
