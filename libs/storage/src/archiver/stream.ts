/**
 * Archiving data that arrives as streams rather than as a directory on disk:
 * a pg_basebackup tar stream, an RDB file being read, a WAL segment as it
 * grows. `storeStream` turns bytes into content-defined chunks, ids, claims
 * and sealed blobs in the sink (what the chunk workers do for files; here
 * this thread cuts chunks and a SealPool ids and seals on the other cores);
 * `TreeBuilder` collects entries by path, in any order, and saves the nested
 * trees bottom-up so a snapshot of streamed data restores like any other.
 */
import { posix } from 'node:path';
import { keyedId, type Dek } from '@pbk/crypto';
import { sealChunk } from '../blob/index.js';
import { Chunker, FixedChunker, type ChunkerOptions } from '../chunker/index.js';
import { DEFAULT_ZSTD_LEVEL } from '../compress/zstd.js';
import { CancelledError, StorageError } from '../errors.js';
import { checkEntryName, compareNames, saveTree, type BlobSink, type TreeEntry } from '../snapshot/index.js';
import { SealAheadGauge } from './seal-ahead.js';
import { defaultSealWorkers, ownsMemory, SealPool } from './seal-pool.js';
import type { SealedBlob } from '../pack/index.js';

export interface StreamContext {
  sink: BlobSink;
  dek: Dek;
  idKey: Buffer;
  chunker: ChunkerOptions;
  /**
   * Cut every this many bytes instead of by content (`chunker` is then
   * unused): for files whose bytes never move, such as PostgreSQL relation
   * files, so that chunk i of one version lines up with chunk i of the next.
   */
  fixedChunkBytes?: number;
  /**
   * The delta-base hint of the stream's chunk at `index` (in stream order),
   * handed to sink.addBlob with each blob that is uploaded: the id of the
   * blob it most likely differs little from (docs/repository-format.md,
   * "Delta blobs"). Chunks the sink already has are not uploaded, so need none.
   */
  deltaHint?: (index: number) => Buffer | undefined;
  zstdLevel?: number;
  signal?: AbortSignal;
  /**
   * Bytes of chunks claimed together (one dedup round trip each); default
   * CLAIM_BATCH_BYTES. A long stream read from a fast source (a pg_basebackup
   * of a whole cluster) spends most of its time waiting on round trips at 4
   * MiB; larger batches trade memory (one batch of plaintext) for fewer waits.
   * Up to MAX_BATCHES_IN_FLIGHT batches wait for claims and seals while the
   * next fills, so a stream holds at most three batches of plaintext.
   */
  claimBatchBytes?: number;
  /**
   * Threads that compute chunk ids and compress and encrypt new chunks while
   * this one cuts the next input; default defaultSealWorkers() (2, or 1 on a
   * single core); 0 does everything on this thread. Started once the stream
   * has read OWN_POOL_AFTER_BYTES, stopped before storeStream returns.
   * Ignored when `pool` is set.
   */
  workers?: number;
  /**
   * A seal pool the caller owns (started once for many streams, closed by the
   * caller). Its id-key and DEK (and zstd level, when `zstdLevel` is set)
   * must be this context's.
   */
  pool?: SealPool;
  /**
   * The caller gives up the pieces it yields: it keeps no reference to them
   * (nor to their memory) once yielded. Pieces that lie whole inside one chunk
   * then travel to the seal workers by transfer, and with `fixedChunkBytes`
   * a chunk sealed ahead of its claim is joined there, not copied into one
   * buffer on this thread. For a first base backup that copy and the garbage
   * it left behind were most of this thread's memory traffic.
   */
  moveInput?: boolean;
  /**
   * Decides when batches are sealed before their claim (seal-ahead.ts); share
   * one across the streams of a run so each small stream starts from what the
   * run has seen. Default: a gauge of this stream's own.
   */
  sealAhead?: SealAheadGauge;
}

/**
 * Where a stream's batches waited, in ms summed over batches (they overlap
 * each other and the reading of the input, so the sum may exceed the wall time).
 */
export interface StreamPhases {
  /** For chunk ids (and, sealed ahead, the sealed blobs) from the pool. */
  idMs: number;
  /** For the previous batch's claim, then this batch's claim round trip. */
  claimMs: number;
  /** For the chunks sealed after their claim. */
  sealMs: number;
  /** For the previous batch's blobs, then handing this batch's to the sink. */
  addMs: number;
  /** Batches sealed before their claim, and chunks sealed that the sink had (dropped). */
  batchesAhead: number;
  sealedForNothing: number;
}

export interface StoredStream {
  /** Blob ids (hex), in order: the stream's content as a file entry holds it. */
  content: string[];
  size: number;
  /** Blobs (and their sealed bytes) this stream added to the sink. */
  blobsNew: number;
  bytesNewStored: number;
  phases: StreamPhases;
}

/** Chunks of one push are claimed together: one MissingBlobs round trip per ~this many bytes. */
const CLAIM_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Batches being claimed, sealed and added while the next one fills: two let
 * one batch's claim round trip overlap the other's sealing and the chunking
 * of the input, and bound memory to three batches.
 */
const MAX_BATCHES_IN_FLIGHT = 2;
/**
 * A batch below this is ided and sealed on this thread when the stream has no
 * caller's pool: two worker round trips cost more than the work (the last bit
 * of a stream). With a caller's pool (a base backup's members, stored several
 * at once) small batches go to the pool too: on this thread their hashing and
 * compression held up reading the next member.
 */
const POOL_MIN_BATCH_BYTES = 1024 * 1024;
/**
 * A stream without a caller's pool starts its own once it has read this much:
 * starting and stopping two workers costs about 70 ms, which ids and seals in
 * parallel win back only over tens of MiB. Smaller streams (a table of a
 * logical dump) stay on this thread.
 */
const OWN_POOL_AFTER_BYTES = 32 * 1024 * 1024;

/**
 * Stores a byte stream as chunks. Chunking runs on this thread; each full
 * batch is then ided (in a SealPool), claimed (one sink round trip), sealed
 * (in the pool) and added to the sink in the background, at most
 * MAX_BATCHES_IN_FLIGHT at once: that bounds memory and is the backpressure
 * on the input. Batches take their claims in stream order, blobs reach the
 * sink in stream order (as they would one batch at a time) and `content` is
 * in stream order. Small batches of a stream without a caller's pool stay on
 * this thread (POOL_MIN_BATCH_BYTES).
 * On failure or abort the batches in flight settle first (their unsent
 * claims are released), so nothing of the stream runs after storeStream
 * rejects.
 */
export async function storeStream(ctx: StreamContext, input: AsyncIterable<Uint8Array>): Promise<StoredStream> {
  const fixed = ctx.fixedChunkBytes !== undefined ? new FixedChunker(ctx.fixedChunkBytes) : undefined;
  const chunker = fixed ?? new Chunker(ctx.chunker);
  const moveInput = ctx.moveInput === true;
  const level = ctx.pool?.zstdLevel ?? ctx.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
  if (ctx.pool !== undefined) checkPool(ctx.pool, ctx);
  const workers = ctx.workers ?? defaultSealWorkers();
  if (!Number.isInteger(workers) || workers < 0) throw new StorageError('INVALID_ARGUMENT', `storeStream: workers must be a whole number >= 0, got ${workers}`);
  const batchLimit = ctx.claimBatchBytes ?? CLAIM_BATCH_BYTES;
  let own: SealPool | undefined;
  /** The pool a batch of `bytes` uses, if any. */
  const poolFor = (bytes: number): SealPool | undefined => {
    if (ctx.pool !== undefined) return ctx.pool;
    if (bytes < POOL_MIN_BATCH_BYTES) return undefined;
    if (workers === 0 || (own === undefined && out.size < OWN_POOL_AFTER_BYTES)) return undefined;
    return (own ??= new SealPool({ dek: ctx.dek, idKey: ctx.idKey, zstdLevel: level, workers }));
  };

  const out: StoredStream = { content: [], size: 0, blobsNew: 0, bytesNewStored: 0, phases: { idMs: 0, claimMs: 0, sealMs: 0, addMs: 0, batchesAhead: 0, sealedForNothing: 0 } };
  const phases = out.phases;
  const gauge = ctx.sealAhead ?? new SealAheadGauge();
  /** Chunks cut and not yet flushed: with moveInput and fixed chunks, each as its parts (FixedChunker.pushParts). */
  let batch: (Buffer | Buffer[])[] = [];
  let batchBytes = 0;
  /**
   * The memory of the caller's pieces (unless moveInput): a chunk that is (a
   * view of) one is the caller's, never moved to a worker. Chunks the chunker
   * assembled from several pieces are this stream's own and travel by
   * transfer, not copy.
   */
  const inputMemory = new WeakSet<ArrayBufferLike>();
  /** Whether `chunk` may be detached: it owns its memory, and that is not the caller's. */
  const ours = (chunk: Buffer): boolean => ownsMemory(chunk) && (moveInput || !inputMemory.has(chunk.buffer));
  /** Ids claimed by this stream: a repeat inside it (zero pages) is stored once. */
  const mine = new Set<string>();
  const inFlight: Promise<void>[] = [];
  /** The last batch started: the next takes its claims after this one's, and adds its blobs after this one's are added. */
  let previous: { claimed: Promise<void>; done: Promise<void> } = { claimed: Promise.resolve(), done: Promise.resolve() };
  let failure: { err: unknown } | undefined;

  /** A chunk ided (and, sealed ahead, sealed): `chunk` is unset once moved into its blob. */
  type Prepared = { id: Buffer; chunk?: Buffer; move: boolean; blob?: SealedBlob };

  const store = async (pool: SealPool | undefined, prepared: Promise<Prepared>[], after: typeof previous, claimedNow: () => void): Promise<void> => {
    let t = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const ms = now - t;
      t = now;
      return ms;
    };
    const chunks = await settleAll(prepared);
    phases.idMs += lap();
    await after.claimed;
    // In stream order, one batch after the other: `content`, and which batch asks for an id repeated in the stream.
    const askAt: number[] = [];
    const firstIndex = out.content.length;
    for (let i = 0; i < chunks.length; i++) {
      const hex = chunks[i]!.id.toString('hex');
      out.content.push(hex);
      if (!mine.has(hex)) {
        mine.add(hex);
        askAt.push(i);
      }
    }
    const ask = askAt.map((i) => chunks[i]!.id);
    // The claim is asked for before the next batch asks: a repeat asked for later is answered "present".
    const asked = ask.length > 0 ? ctx.sink.claimMissing(ask) : [];
    claimedNow();
    const need = await asked;
    phases.claimMs += lap();
    const claimed = askAt.filter((_, j) => need[j]);
    gauge.record(ask.length, claimed.length);
    let sealedAhead = 0;
    for (const c of chunks) if (c.blob !== undefined) sealedAhead++;
    phases.sealedForNothing += sealedAhead - claimed.filter((i) => chunks[i]!.blob !== undefined).length;
    let added = 0;
    try {
      throwIfAborted(ctx.signal);
      // async: a throw becomes this chunk's rejection, and settleAll waits for the others.
      const sealing = claimed.map(async (i): Promise<SealedBlob> => {
        const c = chunks[i]!;
        if (c.blob !== undefined) return c.blob;
        // Sealed once, so a moved chunk is given up here.
        return pool !== undefined ? pool.seal(c.id, c.chunk!, c.move) : sealChunk(ctx.dek, 'data', c.id, c.chunk!, level);
      });
      const blobs = await settleAll(sealing);
      phases.sealMs += lap();
      await after.done;
      for (const [k, blob] of blobs.entries()) {
        throwIfAborted(ctx.signal);
        const hint = ctx.deltaHint?.(firstIndex + claimed[k]!);
        await (hint !== undefined ? ctx.sink.addBlob(blob, hint) : ctx.sink.addBlob(blob));
        added++;
        out.blobsNew++;
        out.bytesNewStored += blob.sealed.length;
      }
      phases.addMs += lap();
    } catch (err) {
      if (added < claimed.length) ctx.sink.releaseClaims?.(claimed.slice(added).map((i) => chunks[i]!.id));
      throw err;
    }
  };

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const chunks = batch;
    const bytes = batchBytes;
    batch = [];
    batchBytes = 0;
    const pool = poolFor(bytes);
    // On this thread sealing ahead would only spend time on chunks the sink may have.
    const ahead = pool !== undefined && gauge.active;
    if (ahead) phases.batchesAhead++;
    // async: a throw becomes this chunk's rejection, and store() waits for the others.
    const prepared = chunks.map(async (cut): Promise<Prepared> => {
      if (ahead && Array.isArray(cut)) {
        // The caller's pieces (moveInput): each part that is a whole piece is moved, the worker joins them.
        const blob = await pool.idAndSeal(cut, true);
        return { id: blob.id, blob, move: true };
      }
      const chunk = !Array.isArray(cut) ? cut : cut.length === 1 ? cut[0]! : Buffer.concat(cut);
      const move = pool !== undefined && ours(chunk);
      if (pool === undefined) return { id: keyedId(ctx.idKey, chunk), chunk, move };
      if (ahead) {
        const blob = await pool.idAndSeal(chunk, move);
        return { id: blob.id, blob, move };
      }
      const r = await pool.id(chunk, move);
      return { id: r.id, chunk: r.chunk, move };
    });
    for (const p of prepared) p.catch(() => undefined); // store() awaits them all, unless waiting for room below fails first
    // Room for this batch first: at most MAX_BATCHES_IN_FLIGHT in flight, and this thread cut the batch meanwhile.
    while (inFlight.length >= MAX_BATCHES_IN_FLIGHT) await inFlight[0];
    let claimedNow!: () => void;
    const claimed = new Promise<void>((resolve) => (claimedNow = resolve));
    const job = store(pool, prepared, previous, claimedNow);
    // A batch that fails before its claim lets the next stop waiting for it (that one then fails on `claimed`).
    const claimedOrFailed = Promise.race([claimed, job]);
    claimedOrFailed.catch(() => undefined); // awaited by the next batch, if there is one
    previous = { claimed: claimedOrFailed, done: job };
    inFlight.push(job);
    // Seen by the input loop at its next piece; awaited (and thrown) below or in the catch.
    job.then(
      () => inFlight.splice(inFlight.indexOf(job), 1),
      (err: unknown) => {
        failure ??= { err };
      },
    );
  };

  try {
    for await (const piece of input) {
      if (failure) throw failure.err;
      throwIfAborted(ctx.signal);
      if (piece.length === 0) continue;
      out.size += piece.length;
      if (!moveInput) inputMemory.add(piece.buffer);
      // The chunker may keep views of `piece`: callers hand over fresh buffers (stream 'data' events are).
      if (fixed !== undefined && moveInput) {
        for (const parts of fixed.pushParts(piece)) {
          batch.push(parts);
          batchBytes += fixed.size;
        }
      } else {
        for (const c of chunker.push(piece)) {
          batch.push(c);
          batchBytes += c.length;
        }
      }
      if (batchBytes >= batchLimit) await flush();
    }
    const last = chunker.finish();
    if (last) {
      batch.push(last);
      batchBytes += last.length;
    }
    await flush();
    await Promise.all(inFlight);
    return out;
  } catch (err) {
    // Nothing of this stream may still run once it rejects: let every batch settle (each releases its own claims).
    await Promise.allSettled(inFlight);
    throw failure?.err ?? err;
  } finally {
    await own?.close();
  }
}

/** Like Promise.all, but waits for every promise to settle before rejecting with the first failure. */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

function checkPool(pool: SealPool, ctx: StreamContext): void {
  if (!pool.hasIdKey(ctx.idKey)) throw new StorageError('INVALID_ARGUMENT', 'storeStream: the seal pool holds another id-key than the stream');
  if (!pool.dekId.equals(ctx.dek.id)) throw new StorageError('INVALID_ARGUMENT', `storeStream: the seal pool holds DEK ${pool.dekId.toString('hex')}, the stream uses ${ctx.dek.id.toString('hex')}`);
  if (ctx.zstdLevel !== undefined && ctx.zstdLevel !== pool.zstdLevel) throw new StorageError('INVALID_ARGUMENT', `storeStream: the seal pool compresses at zstd level ${pool.zstdLevel}, the stream asks for ${ctx.zstdLevel}`);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError('the stream');
}

/** Metadata of an entry added to a TreeBuilder (mode & 0o7777, ns mtime as a decimal string). */
export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
}

type Node = { meta: EntryMeta; kind: 'dir'; children: Map<string, Node> } | { meta: EntryMeta; kind: 'leaf'; entry: Omit<TreeEntry, 'name' | keyof EntryMeta> };

/**
 * Builds nested trees from entries named by relative '/'-separated paths, in
 * any order. A directory met only as a parent of something gets `defaultDir`
 * metadata until (if ever) it is added itself. Names are checked as a
 * restore would check them, so nothing unsafe is ever saved.
 */
export class TreeBuilder {
  private readonly root: Node & { kind: 'dir' };
  files = 0;
  dirs = 0;
  bytes = 0;

  constructor(private readonly defaultDir: EntryMeta) {
    this.root = { meta: defaultDir, kind: 'dir', children: new Map() };
  }

  addDir(path: string, meta: EntryMeta): void {
    const node = this.dirAt(path);
    node.meta = meta;
  }

  addFile(path: string, meta: EntryMeta, stored: { content: string[]; size: number }): void {
    this.put(path, { meta, kind: 'leaf', entry: { type: 'file', size: stored.size, content: stored.content } });
    this.files++;
    this.bytes += stored.size;
  }

  addSymlink(path: string, meta: EntryMeta, target: string): void {
    if (target.includes('\0')) throw new StorageError('INVALID_ARGUMENT', `symlink ${path}: target contains NUL`);
    this.put(path, { meta, kind: 'leaf', entry: { type: 'symlink', target } });
  }

  /** Saves every tree bottom-up; returns the root tree's id (hex) and the sealed bytes added. */
  async save(sink: BlobSink, dek: Dek, idKey: Buffer): Promise<{ root: string; storedBytes: number; blobsNew: number }> {
    let storedBytes = 0;
    let blobsNew = 0;
    const saveDir = async (node: Node & { kind: 'dir' }): Promise<string> => {
      // Sibling directories are saved at once: each tree costs a claim round trip, which a remote sink batches.
      const entries: TreeEntry[] = await Promise.all(
        [...node.children].map(async ([name, child]): Promise<TreeEntry> => {
          if (child.kind === 'dir') return { name, ...child.meta, type: 'dir', subtree: await saveDir(child) };
          return { name, ...child.meta, ...child.entry } as TreeEntry;
        }),
      );
      entries.sort((a, b) => compareNames(a.name, b.name));
      const saved = await saveTree(sink, dek, idKey, { entries });
      if (saved.storedBytes > 0) {
        storedBytes += saved.storedBytes;
        blobsNew++;
      }
      return saved.id;
    };
    const root = await saveDir(this.root);
    return { root, storedBytes, blobsNew };
  }

  private split(path: string): string[] {
    const norm = posix.normalize(path.replace(/^\.\//, '')).replace(/\/+$/, '');
    if (norm === '.' || norm === '') return [];
    const parts = norm.split('/');
    for (const p of parts) checkEntryName(p, path);
    if (posix.isAbsolute(path) || parts.includes('..')) throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)} must be relative and stay inside the tree`);
    return parts;
  }

  private dirAt(path: string): Node & { kind: 'dir' } {
    let node = this.root;
    for (const name of this.split(path)) {
      let child = node.children.get(name);
      if (child === undefined) {
        child = { meta: this.defaultDir, kind: 'dir', children: new Map() };
        node.children.set(name, child);
        this.dirs++;
      } else if (child.kind !== 'dir') {
        throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)}: ${name} is a file, not a directory`);
      }
      node = child;
    }
    return node;
  }

  private put(path: string, leaf: Node & { kind: 'leaf' }): void {
    const parts = this.split(path);
    const name = parts.pop();
    if (name === undefined) throw new StorageError('INVALID_ARGUMENT', 'a file entry needs a name');
    const dir = this.dirAt(parts.join('/'));
    if (dir.children.get(name)?.kind === 'dir') throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)} is already a directory`);
    dir.children.set(name, leaf);
  }
}
