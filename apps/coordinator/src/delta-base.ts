/**
 * The base an uploaded blob may be stored as a delta against (delta blobs,
 * docs/repository-format.md): the agent's `delta_base` is only a hint, so it
 * is used when it names a data blob the index holds whole, and otherwise
 * costs nothing. Reading a base never fails an upload: a base that cannot be
 * read is logged once and the blob is stored whole.
 */
import { StorageError, type DeltaBase, type Logger, type Repository } from '@pbk/storage';
import type { WireBlob } from '@pbk/protocol';
import { Semaphore } from './util/semaphore.js';

/**
 * Bases read at once (each ~1 MiB, held until its check ends): upload streams
 * bound the blobs they check at a time, this bounds the extra reads and
 * memory those checks add.
 */
const BASE_READS = 8;
/** Bases whose read failed, remembered so each is logged once (forgotten wholesale past this). */
const MAX_WARNED = 10_000;

export class DeltaBaseReader {
  readonly #reads = new Semaphore(BASE_READS);
  readonly #warned = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly log: Logger,
  ) {}

  /** The id of the blob `blob` may be stored against, or undefined when its hint does not qualify. */
  candidate(blob: WireBlob): Buffer | undefined {
    const hint = blob.deltaBase;
    if (hint === undefined || hint.length !== 32 || blob.type !== 'BLOB_TYPE_DATA' || hint.equals(blob.id)) return undefined;
    const entry = this.repo.index.get(hint);
    // Writers never chain deltas: a base is a data blob stored whole (its primary copy, the one readers use).
    if (entry === undefined || entry.type !== 'data' || entry.deltaBase !== undefined) return undefined;
    return hint;
  }

  /** The base's sealed bytes and key, or undefined (logged once per base) when they cannot be read. */
  async read(baseId: Buffer, forBlob: Buffer): Promise<DeltaBase | undefined> {
    try {
      return await this.#reads.run(async () => {
        const { entry, sealed } = await this.repo.readSealed(baseId, `the delta hint of uploaded blob ${forBlob.toString('hex')}`);
        const dek = await this.repo.keys.dek(entry.dekId);
        return { id: baseId, dek, sealed, rawLength: entry.rawLength, packId: entry.packId };
      });
    } catch (err) {
      // Backend and key errors too: the upload itself is fine and is stored whole.
      this.problem(baseId, forBlob, err instanceof Error ? err.message : String(err), err instanceof StorageError ? err.code : undefined);
      return undefined;
    }
  }

  /** A base that could not serve (unreadable, or it did not open in the check). */
  problem(baseId: Buffer, forBlob: Buffer, detail: string, code?: string): void {
    const hex = baseId.toString('hex');
    if (this.#warned.has(hex)) return;
    if (this.#warned.size >= MAX_WARNED) this.#warned.clear();
    this.#warned.add(hex);
    this.log.warn(
      { base: hex, blob: forBlob.toString('hex'), code, detail },
      'a delta base blob cannot be used: blobs hinted at it are stored whole; run pbk verify to see whether the repository is damaged',
    );
  }
}
