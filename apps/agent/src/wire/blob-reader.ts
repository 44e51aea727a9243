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
 */
import { BlobAssembler, fromGrpcStatus, MAX_IDS_PER_DOWNLOAD, type v1 } from '@pbk/protocol';
import { openChunk } from '@pbk/storage';
import type { Clock, TimerHandle } from '../clock.js';
import { AgentError } from '../errors.js';

/** One DownloadBlobs message, as the reader needs it. */
export interface DownloadMessage {
  parts: v1.BlobPart__Output[];
  keys: v1.DataKey__Output[];
}

/** Streams the blobs of one batch, in any order; throws (or rejects) on failure. */
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

  constructor(
    private readonly fetch: FetchBlobs,
    private readonly options: BlobReaderOptions,
  ) {
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
      }, this.options.windowMs ?? 2);
    });
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
    for (const hex of batch.keys()) {
      this.queue.delete(hex);
      this.inflight.set(hex, batch.get(hex)!);
    }
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
      batch.delete(hex);
      for (const w of ws) {
        if ('ok' in outcome) w.resolve(outcome.ok);
        else w.reject(outcome.err);
      }
    };
    try {
      for await (const msg of this.fetch(ids, this.controller.signal)) {
        for (const k of msg.keys) this.deks.set(k.id.toString('hex'), { id: k.id, key: k.key });
        for (const blob of assembler.push(msg.parts)) {
          const hex = blob.id.toString('hex');
          if (!batch.has(hex)) continue; // not asked for (or already settled): ignore
          settle(hex, this.open(blob.id, blob.dekId, blob.sealed, blob.rawLength, batch.get(hex)?.[0]?.where));
        }
      }
      assembler.finish();
      for (const [hex, ws] of [...batch]) {
        const where = ws[0]?.where;
        settle(hex, { err: new AgentError('NOT_FOUND', `the coordinator did not send blob ${hex}${where ? ` (${where})` : ''}: run 'pbk verify' on the coordinator`) });
      }
    } catch (err) {
      const cause = this.closed ?? asRemote(err);
      for (const hex of [...batch.keys()]) settle(hex, { err: cause });
    }
  }

  private open(id: Buffer, dekId: Buffer, sealed: Buffer, rawLength: number, where: string | undefined): { ok: Buffer } | { err: unknown } {
    const dek = this.deks.get(dekId.toString('hex'));
    if (dek === undefined) {
      return { err: new AgentError('INTEGRITY', `blob ${id.toString('hex')} arrived without its DEK ${dekId.toString('hex')}; the coordinator must send each DEK before its first blob`) };
    }
    const idKey = this.options.idKey();
    if (idKey === undefined) {
      return { err: new AgentError('FAILED_PRECONDITION', 'the repository id-key is not known to this agent yet, so downloaded blobs cannot be checked; it is learnt from BeginBackup (run one backup of any source first)') };
    }
    try {
      const plain = openChunk(dek, idKey, id, sealed, rawLength);
      this.stats.blobs++;
      this.stats.bytes += plain.length;
      return { ok: plain };
    } catch (err) {
      return { err: where ? new AgentError('CORRUPT', `${(err as Error).message} (${where})`, { cause: err }) : err };
    }
  }
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
