/**
 * When storeStream seals chunks before their claim. Normally a batch is
 * ided in the seal pool, claimed (MissingBlobs), and only the missing chunks
 * are sealed: two worker trips per chunk, and nothing the repository has is
 * compressed. In a first backup nearly every chunk is missing, so the second
 * trip only adds latency and a copy: once the recent batches were at least
 * SEAL_AHEAD_MISSING_SHARE missing, chunks are ided and sealed in one trip and
 * the claim drops the few sealed for nothing. The chunk workers of directory
 * backups decide the same way (chunk-worker.ts, sendBatch).
 *
 * One gauge may serve many streams (a base backup's hundreds of tar members,
 * most too small to judge alone); storeStream keeps one per stream otherwise.
 */

/** Share of recently claimed chunks that must have been missing for the next batches to be sealed before their claim. */
export const SEAL_AHEAD_MISSING_SHARE = 0.9;
/**
 * Chunks the share is taken over (the most recent claims): enough that one
 * small member does not flip it, few enough that an incremental backup stops
 * sealing ahead within a batch or two of its first chunks the repository has.
 */
export const SEAL_AHEAD_WINDOW_CHUNKS = 64;

export class SealAheadGauge {
  /** Claims in the window, oldest first: [asked, missing] per claim. */
  private readonly claims: [number, number][] = [];
  private asked = 0;
  private missing = 0;

  constructor(
    readonly share = SEAL_AHEAD_MISSING_SHARE,
    readonly windowChunks = SEAL_AHEAD_WINDOW_CHUNKS,
  ) {}

  /** Whether the next batch should be sealed before its claim. False until a claim was recorded. */
  get active(): boolean {
    return this.asked > 0 && this.missing >= this.share * this.asked;
  }

  /** One claim's outcome: `asked` ids, of which `missing` the sink lacked. */
  record(asked: number, missing: number): void {
    if (asked <= 0) return;
    this.claims.push([asked, missing]);
    this.asked += asked;
    this.missing += missing;
    // Keep at least the newest claim, however large.
    while (this.claims.length > 1 && this.asked - this.claims[0]![0] >= this.windowChunks) {
      const [a, m] = this.claims.shift()!;
      this.asked -= a;
      this.missing -= m;
    }
  }
}
