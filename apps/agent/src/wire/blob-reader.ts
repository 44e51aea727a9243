/**
 * Reads blobs from the coordinator for restores and for an incremental run's
 * parent trees: `{ readBlob(id) }`, what restoreSnapshot and the archiver's
 * readTree expect.
 *
 * Requests are collected for a moment (`windowMs`, or until `maxIds`) and
 * fetched with ONE DownloadBlobs call per batch; an id asked for twice while
 * queued or in flight is fetched once. Each blob is opened with the DEK the
 * stream sent for it and checked against its id (openChunk: AES-GCM with the
 * id as associated data, then HMAC(id-key, plaintext) == id), so a wrong,
 * swapped or damaged blob is an error, never restored data. Blobs resolve as
 * they arrive; an id the stream ends without is NOT_FOUND.
 *
 * A blob stored as a delta (docs/repository-format.md, "Delta blobs") arrives
 * with `deltaBase`, right after its base marked `baseOnly`: the pair is opened
 * together (the base decrypted first, its id left to the delta's check), and
 * the base answers no request unless it was asked for itself. Any other order
 * is a corrupt stream and fails the batch: a delta is never skipped or opened
 * without its base.
 */
import { BlobAssembler, fromGrpcStatus, MAX_IDS_PER_DOWNLOAD, type v1, type WireBlob } from '@pbk/protocol';
import { runOpenJob, type DeltaBase, type OpenPool, type PlannedFile } from '@pbk/storage';
import type { Clock, TimerHandle } from '../clock.js';
import { AgentError } from '../errors.js';

/** One DownloadBlobs message, as the reader needs it. */
export interface DownloadMessage {
  parts: v1.BlobPart__Output[];
  keys: v1.DataKey__Output[];
}

/** Streams the blobs of one batch, in any order; throws (or rejects) on failure. The reader owns the parts' bytes (it may move them to a worker). */
export type FetchBlobs = (ids: Buffer[], signal: AbortSignal) => AsyncIterable<DownloadMessage>;

export interface BlobReaderOptions {
  /** The repository id-key, to check each blob's id. A function: the daemon may learn it later. */
  idKey: () => Buffer | undefined;
  clock: Clock;
  /** How long to collect ids before fetching; 0 fetches on the next timer tick. */
  windowMs?: number;
  maxIds?: number;
  /** Batches fetched at once; more requests wait for one to finish. */
  maxConcurrentBatches?: number;
  signal?: AbortSignal;
  /** Opens blobs on worker threads (a restore's bulk); without it they open on this thread. */
  pool?: Pick<OpenPool, 'open' | 'openMoving'>;
}

interface Wanted {
  id: Buffer;
  where: string | undefined;
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
}

export interface ReaderStats {
  batches: number;
  blobs: number;
  /** Plaintext bytes delivered. */
  bytes: number;
}

export class BatchingBlobReader {
  readonly stats: ReaderStats = { batches: 0, blobs: 0, bytes: 0 };
  /** Queued, not yet fetched: hex id -> waiters. */
  private queue = new Map<string, Wanted[]>();
  /** In flight: hex id -> waiters. */
  private readonly inflight = new Map<string, Wanted[]>();
  private readonly deks = new Map<string, { id: Buffer; key: Buffer }>();
  private timer: TimerHandle | undefined;
  private running = 0;
  private readonly controller = new AbortController();
  private closed: unknown;

  /** How long reads are collected before a call; setWindow changes it (a restore: long while reading trees, short after). */
  private windowMs: number;

  constructor(
    private readonly fetch: FetchBlobs,
    private readonly options: BlobReaderOptions,
  ) {
    this.windowMs = options.windowMs ?? 2;
    const outer = options.signal;
    if (outer) {
      if (outer.aborted) this.close(outer.reason);
      else outer.addEventListener('abort', () => this.close(outer.reason), { once: true });
    }
  }

  readBlob(id: Buffer, where?: string): Promise<Buffer> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    const hex = id.toString('hex');
    return new Promise<Buffer>((resolve, reject) => {
      const w: Wanted = { id, where, resolve, reject };
      const flying = this.inflight.get(hex);
      if (flying) {
        flying.push(w);
        return;
      }
      const queued = this.queue.get(hex);
      if (queued) queued.push(w);
      else this.queue.set(hex, [w]);
      if (this.queue.size >= (this.options.maxIds ?? MAX_IDS_PER_DOWNLOAD)) this.dispatch();
      else this.timer ??= this.options.clock.setTimeout(() => {
        this.timer = undefined;
        this.dispatch();
      }, this.windowMs);
    });
  }

  setWindow(ms: number): void {
    this.windowMs = ms;
  }

  /**
   * Fetches these ids now, in one DownloadBlobs call of their own (a planned
   * read-ahead, not waiting for the window): one promise per item. An id
   * already in flight joins that fetch; one queued for the window moves here.
   */
  readBatch(items: readonly { id: Buffer; where?: string }[]): Promise<Buffer>[] {
    const batch = new Map<string, Wanted[]>();
    const out = items.map(
      ({ id, where }) =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.closed !== undefined) return reject(this.closed);
          const hex = id.toString('hex');
          const w: Wanted = { id, where, resolve, reject };
          const flying = this.inflight.get(hex);
          if (flying) return void flying.push(w);
          const ws = batch.get(hex) ?? this.queue.get(hex) ?? [];
          this.queue.delete(hex);
          ws.push(w);
          batch.set(hex, ws);
        }),
    );
    if (batch.size > 0) this.start(batch);
    return out;
  }

  /** Fails every waiting read and cancels the fetches in flight. */
  close(reason: unknown = new AgentError('CANCELLED', 'the blob reader was closed')): void {
    if (this.closed !== undefined) return;
    this.closed = reason;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort(reason);
    for (const ws of [...this.queue.values(), ...this.inflight.values()]) for (const w of ws) w.reject(reason);
    this.queue.clear();
    this.inflight.clear();
  }

  private dispatch(): void {
    if (this.closed !== undefined || this.queue.size === 0) return;
    if (this.running >= (this.options.maxConcurrentBatches ?? 4)) return; // picked up when a batch ends
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const max = this.options.maxIds ?? MAX_IDS_PER_DOWNLOAD;
    const batch = new Map<string, Wanted[]>();
    for (const [hex, ws] of this.queue) {
      if (batch.size >= max) break;
      batch.set(hex, ws);
    }
    for (const hex of batch.keys()) this.queue.delete(hex);
    this.start(batch);
  }

  private start(batch: Map<string, Wanted[]>): void {
    for (const [hex, ws] of batch) this.inflight.set(hex, ws);
    this.running++;
    this.stats.batches++;
    void this.runBatch(batch).finally(() => {
      this.running--;
      this.dispatch();
    });
  }

  private async runBatch(batch: Map<string, Wanted[]>): Promise<void> {
    const ids = [...batch.values()].map((ws) => ws[0]!.id);
    const assembler = new BlobAssembler();
    const settle = (hex: string, outcome: { ok: Buffer } | { err: unknown }): void => {
      const ws = this.inflight.get(hex);
      if (ws === undefined) return;
      this.inflight.delete(hex);
      for (const w of ws) {
        if ('ok' in outcome) w.resolve(outcome.ok);
        else w.reject(outcome.err);
      }
    };
    // Blobs being opened (on the pool's threads): the stream reads on meanwhile.
    const opening: Promise<void>[] = [];
    /** The last base-only blob, until the delta it came for. */
    let base: WireBlob | undefined;
    try {
      for await (const msg of this.fetch(ids, this.controller.signal)) {
        for (const k of msg.keys) this.deks.set(k.id.toString('hex'), { id: k.id, key: k.key });
        for (const blob of assembler.push(msg.parts)) {
          const hex = blob.id.toString('hex');
          const paired = pairWithBase(blob, base);
          base = blob.baseOnly ? blob : undefined;
          const ws = batch.get(hex);
          if (ws === undefined) continue; // not asked for (or already received), or only a base: ignore
          batch.delete(hex);
          opening.push(this.open(blob, paired, ws[0]?.where).then((outcome) => settle(hex, outcome)));
        }
      }
      if (base !== undefined) throw corruptStream(`base blob ${base.id.toString('hex')} (base_only) ended the stream without the delta it came for`);
      assembler.finish();
      for (const [hex, ws] of [...batch]) {
        const where = ws[0]?.where;
        settle(hex, { err: new AgentError('NOT_FOUND', `the coordinator did not send blob ${hex}${where ? ` (${where})` : ''}: run 'pbk verify' on the coordinator`) });
      }
    } catch (err) {
      const cause = this.closed ?? asRemote(err);
      for (const hex of [...batch.keys()]) settle(hex, { err: cause });
    }
    await Promise.all(opening);
  }

  /** Opens and checks `blob` (a delta with `base`, the base-only blob sent just before it). */
  private async open(blob: WireBlob, base: WireBlob | undefined, where: string | undefined): Promise<{ ok: Buffer } | { err: unknown }> {
    const { id, dekId, sealed, rawLength } = blob;
    const keyless = (what: string, k: Buffer) => ({ err: new AgentError('INTEGRITY', `${what} arrived without its DEK ${k.toString('hex')}; the coordinator must send each DEK before its first blob`) });
    const dek = this.deks.get(dekId.toString('hex'));
    if (dek === undefined) return keyless(`blob ${id.toString('hex')}`, dekId);
    const baseDek = base && this.deks.get(base.dekId.toString('hex'));
    if (base !== undefined && baseDek === undefined) return keyless(`its delta base ${base.id.toString('hex')}`, base.dekId);
    const idKey = this.options.idKey();
    if (idKey === undefined) {
      return { err: new AgentError('FAILED_PRECONDITION', 'the repository id-key is not known to this agent yet, so downloaded blobs cannot be checked; it is learnt from BeginBackup (run one backup of any source first)') };
    }
    const delta: DeltaBase | undefined = base && baseDek && { id: base.id, dek: baseDek, sealed: base.sealed, rawLength: base.rawLength };
    try {
      const pool = this.options.pool;
      // A blob fresh off the wire is nobody else's: moved to the worker, not copied. A base-only blob is
      // kept for the delta after it (pairWithBase), so one asked for itself too is copied.
      const plain = pool
        ? blob.baseOnly
          ? await pool.open(dek, idKey, id, sealed, rawLength, undefined, delta)
          : await pool.openMoving(dek, idKey, id, sealed, rawLength, delta)
        : runOpenJob({ dek, idKey, id, sealed, rawLength, packId: undefined, ...(delta ? { base: delta } : {}) }).plaintext;
      this.stats.blobs++;
      this.stats.bytes += plain.length;
      return { ok: plain };
    } catch (err) {
      return { err: where ? new AgentError('CORRUPT', `${(err as Error).message} (${where})`, { cause: err }) : err };
    }
  }
}

export interface ReadAheadOptions {
  /** Files the restore writes at once (restoreSnapshot's concurrency): the read-ahead follows the order they will ask in. */
  writers: number;
  /** Plaintext bytes fetched ahead of the writer and not yet taken (estimated from file sizes): bounds memory. */
  maxBytesAhead: number;
  /** Bytes per DownloadBlobs call of the read-ahead; a call starts only once a whole one fits under maxBytesAhead. */
  batchBytes: number;
  /** Read-ahead calls in flight at once. */
  batchesInFlight: number;
}

/**
 * A restore's reader once it knows every file it will write, in order
 * (restoreSnapshot's onPlan): the blobs are fetched along that list in large
 * DownloadBlobs calls, a bounded number of bytes ahead of the writers, instead
 * of a small call per few files that ask. A blob asked for before the
 * read-ahead reached it is fetched on demand as before (and not again).
 *
 * A blob that several files share (zero pages, copies) is held only for the
 * reads near each other in the plan: one that comes back much later is
 * fetched again when the read-ahead gets there. Holding it from its first use
 * to its last filled the window with a few shared blobs and stalled the rest.
 */
export class ReadAheadReader {
  /** Planned reads not yet fetched ahead or read: hex id -> count. */
  private readonly pending = new Map<string, number>();
  /** Every planned read, in the order the writers will ask. */
  private readonly order: { hex: string; bytes: number; where: string }[] = [];
  private cursor = 0;
  /** Planned bytes from the cursor to the end of the order (reads taken on demand included: an estimate). */
  private bytesLeft = 0;
  /** Fetched ahead (or in flight): hex id -> the fetch and the reads it is kept for. */
  private readonly ahead = new Map<string, { blob: Promise<Buffer>; uses: number; bytes: number }>();
  private bytesAhead = 0;
  private running = 0;

  constructor(
    private readonly reader: BatchingBlobReader,
    private readonly options: ReadAheadOptions,
  ) {}

  plan(files: readonly PlannedFile[]): void {
    for (const b of demandOrder(files, this.options.writers)) {
      this.order.push(b);
      this.bytesLeft += b.bytes;
      this.pending.set(b.hex, (this.pending.get(b.hex) ?? 0) + 1);
    }
    this.pump();
  }

  readBlob(id: Buffer, where?: string): Promise<Buffer> {
    const hex = id.toString('hex');
    const got = this.ahead.get(hex);
    if (got !== undefined) {
      if (--got.uses <= 0) {
        this.ahead.delete(hex);
        this.bytesAhead -= got.bytes;
        this.pump();
      }
      return got.blob;
    }
    const n = this.pending.get(hex);
    if (n !== undefined) {
      if (n <= 1) this.pending.delete(hex);
      else this.pending.set(hex, n - 1);
    }
    return this.reader.readBlob(id, where);
  }

  private pump(): void {
    const o = this.options;
    // Only a whole batch's room starts a call: refilling as each blob was taken made a call of a
    // blob or two per take (~250 calls per bench:postgres restore instead of ~55), each costing
    // the coordinator a snapshot lookup, audit records and a stream, and the agent a stream.
    while (this.running < o.batchesInFlight && this.cursor < this.order.length && (this.bytesAhead === 0 || this.bytesAhead + Math.min(o.batchBytes, this.bytesLeft) <= o.maxBytesAhead)) {
      const items: { hex: string; bytes: number; where: string }[] = [];
      let bytes = 0;
      while (this.cursor < this.order.length && items.length < MAX_IDS_PER_DOWNLOAD && (items.length === 0 || (bytes < o.batchBytes && this.bytesAhead + bytes < o.maxBytesAhead))) {
        const next = this.order[this.cursor++]!;
        this.bytesLeft -= next.bytes;
        const n = this.pending.get(next.hex);
        if (n === undefined) continue; // read already (on demand, before the read-ahead got here)
        if (n <= 1) this.pending.delete(next.hex);
        else this.pending.set(next.hex, n - 1);
        const held = this.ahead.get(next.hex);
        if (held !== undefined) {
          held.uses++; // still held for a read close by: it serves this one too
          continue;
        }
        items.push(next);
        // Held from now on (a later occurrence in this same batch joins it above).
        this.ahead.set(next.hex, { blob: PENDING, uses: 1, bytes: next.bytes });
        bytes += next.bytes;
      }
      if (items.length === 0) return;
      const blobs = this.reader.readBatch(items.map((i) => ({ id: Buffer.from(i.hex, 'hex'), where: i.where })));
      this.running++;
      this.bytesAhead += bytes;
      items.forEach((item, k) => {
        const blob = blobs[k]!;
        blob.catch(() => undefined); // observed by the read that takes it
        const held = this.ahead.get(item.hex);
        if (held !== undefined) held.blob = blob;
      });
      void Promise.allSettled(blobs).then(() => {
        this.running--;
        this.pump();
      });
    }
  }
}

/** Placeholder of an entry being put together by pump (replaced before pump returns). */
const PENDING: Promise<Buffer> = new Promise(() => undefined);

/**
 * The order in which `writers` files written at once ask for their blobs, if
 * every writer goes at the same byte rate: each file goes to the writer that
 * is free first, and its blobs follow one another in that writer. A large file
 * is thus read ahead alongside the small files written next to it, not before
 * all of them (which left those to small on-demand calls).
 */
export function demandOrder(files: readonly PlannedFile[], writers: number): { hex: string; bytes: number; where: string }[] {
  const out: { hex: string; bytes: number; where: string; at: number; seq: number }[] = [];
  // Min-heap of the writers' clocks (bytes written so far): who takes the next file.
  const heap: number[] = Array.from({ length: Math.max(1, writers) }, () => 0);
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && heap[l]! < heap[m]!) m = l;
      if (r < heap.length && heap[r]! < heap[m]!) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const f of files) {
    const bytes = f.content.length > 0 ? f.size / f.content.length : 0;
    let at = heap[0]!;
    for (const hex of f.content) {
      out.push({ hex, bytes, where: `file ${f.where}`, at, seq: out.length });
      at += Math.max(bytes, 1);
    }
    heap[0] = Math.max(at, heap[0]! + 1); // an empty file still takes its writer a moment
    down(0);
  }
  out.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return out.map(({ hex, bytes, where }) => ({ hex, bytes, where }));
}

function corruptStream(detail: string): AgentError {
  return new AgentError('CORRUPT', `the download stream is corrupt: ${detail}; the coordinator must send a delta blob right after its base (base_only). Run 'pbk verify' on the coordinator`);
}

/**
 * The base `blob` is opened with: `previous` (the blob just before it, if
 * base-only) when `blob` is a delta. Throws (a corrupt stream) for a delta
 * whose base did not come just before it, a base followed by anything but
 * its delta, and a base that is itself a delta (writers never chain).
 */
export function pairWithBase(blob: WireBlob, previous: WireBlob | undefined): WireBlob | undefined {
  const hex = blob.id.toString('hex');
  if (previous !== undefined && !(blob.deltaBase?.equals(previous.id) ?? false)) {
    throw corruptStream(`base blob ${previous.id.toString('hex')} (base_only) was followed by blob ${hex}, not by the delta it came for`);
  }
  if (blob.baseOnly && blob.deltaBase !== undefined) throw corruptStream(`base blob ${hex} (base_only) is itself a delta against ${blob.deltaBase.toString('hex')}`);
  if (blob.deltaBase === undefined) return undefined;
  if (previous === undefined) throw corruptStream(`delta blob ${hex} arrived without its base blob ${blob.deltaBase.toString('hex')} just before it`);
  return previous;
}

/** grpc-js stream errors are ServiceErrors: give them our codes. */
function asRemote(err: unknown): unknown {
  const e = err as { code?: unknown; details?: unknown; metadata?: unknown } | null;
  if (e && typeof e.code === 'number' && 'details' in e) return fromGrpcStatus(e as Parameters<typeof fromGrpcStatus>[0]);
  return err;
}

/**
 * FetchBlobs over AgentService.DownloadBlobs for one snapshot. `onIdKey` hears
 * an `id_key` field if the coordinator's DownloadBlobsResponse carries one
 * (not in agent.proto yet; see docs/agent-coordinator.md, "Restores").
 */
export function downloadFetcher(
  rpc: { downloadBlobs(req: v1.DownloadBlobsRequest): AsyncIterable<v1.DownloadBlobsResponse__Output> & { cancel(): void } },
  snapshotId: Buffer,
  onIdKey?: (key: Buffer) => void,
): FetchBlobs {
  return async function* fetchBatch(ids, signal) {
    const call = rpc.downloadBlobs({ snapshotId, ids });
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of call) {
        const idKey = (msg as { idKey?: unknown }).idKey;
        if (onIdKey && Buffer.isBuffer(idKey) && idKey.length === 32) onIdKey(idKey);
        yield { parts: msg.parts, keys: msg.keys };
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      call.cancel();
    }
  };
}
