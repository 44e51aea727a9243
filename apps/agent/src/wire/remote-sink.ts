/**
 * The archiver's BlobSink over gRPC: where a backup run's new blobs go.
 *
 * - claimMissing: asks MissingBlobs in batches of MAX_IDS_PER_MISSING_BLOBS,
 *   at most MISSING_CALLS_IN_FLIGHT at once; concurrent askers share a call.
 *   The coordinator claims the missing ids for this run. An id this run has
 *   already asked about (two files sharing a chunk, in flight at once) is
 *   answered "present" locally, so every blob is sent at most once per run.
 * - addBlob: frames sealed blobs into ~1 MiB messages (BlobMessageBatcher) on
 *   one UploadBlobs stream, writes honouring write()/'drain' (writeMessage),
 *   serialised so the parts of one blob stay consecutive. The archiver awaits
 *   each addBlob, so memory stays bounded by grpc-js's write buffer plus one
 *   message. After UPLOAD_STREAM_TARGET_BYTES the stream is closed and the
 *   next one opens; a closed stream's durable ack is awaited before the next
 *   one closes (bounds what a coordinator crash makes us send again to two
 *   streams, without stopping the upload for each pack flush).
 * - flush: sends the last message, ends the stream and waits for its
 *   response: only then is every blob of the run durable.
 *
 * After the first failure (stream error, cancellation) every call fails with it.
 */
import { BlobMessageBatcher, BLOB_MESSAGE_BYTES, MAX_IDS_PER_MISSING_BLOBS, ProtocolError, UPLOAD_STREAM_TARGET_BYTES, writeMessage, type v1 } from '@pbk/protocol';
import type { BlobSink } from '@pbk/storage';
import { AgentError } from '../errors.js';
import type { AgentRpc } from './client.js';

/** The storage layer's SealedBlob, as BlobSink.addBlob receives it. */
type SealedBlob = Parameters<BlobSink['addBlob']>[0];

export interface UploadStats {
  /** Blobs sent in this run. */
  blobs: number;
  /** Plaintext bytes of those blobs (the repository did not have them). */
  rawBytes: number;
  /** Sealed bytes sent. */
  sealedBytes: number;
  /** Blobs sent with a delta-base hint. */
  hinted: number;
  /** Ids asked about with MissingBlobs. */
  asked: number;
  streams: number;
  /** From the coordinator's answers: stored, and already present (sent but deduplicated there). */
  stored: number;
  duplicate: number;
  /** Where the run waited (ms, wall time; overlapping waits add up): MissingBlobs round trips, */
  missingCalls: number;
  missingMs: number;
  /** writes held back by flow control ('drain'), */
  drainMs: number;
  /** and durable acks of closed streams. */
  durableMs: number;
}

export interface RemoteSinkOptions {
  signal?: AbortSignal;
  streamTargetBytes?: number;
  messageBytes?: number;
  maxIdsPerCall?: number;
}

/** MissingBlobs calls one run keeps out at once; later askers share the next call. Two: one answer is processed while the next travels. */
const MISSING_CALLS_IN_FLIGHT = 2;

interface OpenStream {
  stream: ReturnType<AgentRpc['uploadBlobs']>['stream'];
  response: Promise<v1.UploadBlobsResponse__Output>;
  sentBytes: number;
}

export class RemoteBlobSink implements BlobSink {
  readonly stats: UploadStats = { blobs: 0, hinted: 0, rawBytes: 0, sealedBytes: 0, asked: 0, streams: 0, stored: 0, duplicate: 0, missingCalls: 0, missingMs: 0, drainMs: 0, durableMs: 0 };
  private readonly claimed = new Set<string>();
  private readonly batcher: BlobMessageBatcher;
  private readonly streamTargetBytes: number;
  private readonly maxIds: number;
  private upload: OpenStream | undefined;
  /** The last closed stream, while its durable ack is outstanding. */
  private acking: OpenStream | undefined;
  private readonly askQueue: { ids: Buffer[]; resolve: (missing: Set<string>) => void; reject: (err: unknown) => void }[] = [];
  private asking = 0;
  /** Serialises every write, so blobs never interleave and the order of messages is the order of addBlob calls. */
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly rpc: Pick<AgentRpc, 'missingBlobs' | 'uploadBlobs'>,
    private readonly runId: Buffer,
    private readonly options: RemoteSinkOptions = {},
  ) {
    this.batcher = new BlobMessageBatcher(options.messageBytes ?? BLOB_MESSAGE_BYTES);
    this.streamTargetBytes = options.streamTargetBytes ?? UPLOAD_STREAM_TARGET_BYTES;
    this.maxIds = options.maxIdsPerCall ?? MAX_IDS_PER_MISSING_BLOBS;
    options.signal?.addEventListener('abort', () => this.fail(options.signal?.reason ?? new AgentError('CANCELLED', 'the run was cancelled')), { once: true });
  }

  async claimMissing(ids: readonly Buffer[]): Promise<boolean[]> {
    this.check();
    const need = new Array<boolean>(ids.length).fill(false);
    const ask: { id: Buffer; hex: string; index: number }[] = [];
    ids.forEach((id, index) => {
      const hex = id.toString('hex');
      if (this.claimed.has(hex)) return;
      // Claimed before asking: a concurrent call with the same id is told "present".
      this.claimed.add(hex);
      ask.push({ id, hex, index });
    });
    try {
      const answers: Promise<Set<string>>[] = [];
      for (let i = 0; i < ask.length; i += this.maxIds) answers.push(this.askMissing(ask.slice(i, i + this.maxIds).map((a) => a.id)));
      for (const missing of await Promise.all(answers)) for (const a of ask) if (missing.has(a.hex)) need[a.index] = true;
    } catch (err) {
      for (const a of ask) this.claimed.delete(a.hex);
      this.fail(err);
      throw err;
    }
    return need;
  }

  /**
   * Queues ids for MissingBlobs; resolves with the hex ids the coordinator
   * reported missing in the call that carried them. Callers arriving while
   * MISSING_CALLS_IN_FLIGHT calls are out share the next call: every directory's
   * tree and every worker batch asks on its own, and a round trip each (tens of
   * ms on a loaded host) was most of a run's time.
   */
  private askMissing(ids: Buffer[]): Promise<Set<string>> {
    return new Promise((resolve, reject) => {
      this.askQueue.push({ ids, resolve, reject });
      this.pumpMissing();
    });
  }

  private pumpMissing(): void {
    while (this.asking < MISSING_CALLS_IN_FLIGHT && this.askQueue.length > 0) {
      const waiters = [this.askQueue.shift()!];
      let count = waiters[0]!.ids.length;
      while (this.askQueue.length > 0 && count + this.askQueue[0]!.ids.length <= this.maxIds) {
        const w = this.askQueue.shift()!;
        count += w.ids.length;
        waiters.push(w);
      }
      this.asking++;
      this.stats.asked += count;
      this.stats.missingCalls++;
      const t0 = performance.now();
      this.rpc
        .missingBlobs({ runId: this.runId, ids: waiters.flatMap((w) => w.ids) }, this.options.signal)
        .then(
          (res) => {
            const missing = new Set(res.missing.map((m) => m.toString('hex')));
            for (const w of waiters) w.resolve(missing);
          },
          (err: unknown) => {
            for (const w of waiters) w.reject(err);
          },
        )
        .finally(() => {
          this.stats.missingMs += performance.now() - t0;
          this.asking--;
          this.pumpMissing();
        });
    }
  }

  /** `deltaHint` travels as the blob's delta_base: the coordinator may store it as a delta against that blob. */
  addBlob(blob: SealedBlob, deltaHint?: Buffer): Promise<void> {
    const next = this.chain.then(() => this.send(blob, deltaHint));
    // The chain itself never rejects: each caller sees its own failure, later ones see `failure`.
    this.chain = next.catch(() => undefined);
    return next;
  }

  releaseClaims(ids: readonly Buffer[]): void {
    for (const id of ids) this.claimed.delete(id.toString('hex'));
  }

  /** Sends what is left, ends the stream and waits until the coordinator says it is durable. */
  async flush(): Promise<UploadStats> {
    await this.chain;
    this.check();
    await this.closeStream(true);
    return this.stats;
  }

  /** Cancels the open stream (the run failed); nothing of it is acknowledged. */
  abort(reason: unknown = new AgentError('CANCELLED', 'the run was aborted')): void {
    this.fail(reason);
  }

  private async send(blob: SealedBlob, deltaHint: Buffer | undefined): Promise<void> {
    this.check();
    const up = this.upload ?? this.open();
    const wire = { id: blob.id, type: blob.type === 'tree' ? 'BLOB_TYPE_TREE' : 'BLOB_TYPE_DATA', dekId: blob.dekId, rawLength: blob.rawLength, sealed: blob.sealed } as const;
    for (const parts of this.batcher.push(deltaHint !== undefined ? { ...wire, deltaBase: deltaHint } : wire)) {
      await this.write(up, parts);
    }
    up.sentBytes += blob.sealed.length;
    this.stats.blobs++;
    this.stats.rawBytes += blob.rawLength;
    this.stats.sealedBytes += blob.sealed.length;
    if (deltaHint !== undefined) this.stats.hinted++;
    if (up.sentBytes >= this.streamTargetBytes) await this.closeStream();
  }

  private open(): OpenStream {
    const { stream, response } = this.rpc.uploadBlobs();
    const up: OpenStream = { stream, response, sentBytes: 0 };
    // An early failure (INTEGRITY, run closed) is kept and ends the run at the next call.
    response.catch((err: unknown) => this.fail(err));
    this.upload = up;
    this.stats.streams++;
    return up;
  }

  private async write(up: OpenStream, parts: v1.BlobPart[]): Promise<void> {
    const t0 = performance.now();
    try {
      await writeMessage(up.stream, { runId: this.runId, parts } satisfies v1.UploadBlobsRequest, this.options.signal);
      this.stats.drainMs += performance.now() - t0;
    } catch (err) {
      // The stream's own status says more than "closed while waiting to send".
      const status = await settledError(up.response, 1000);
      const cause = status ?? this.failure ?? err;
      this.fail(cause);
      throw cause;
    }
  }

  /**
   * Ends the open stream. Its durable ack is awaited before the next stream
   * ends (at most one stream waits for its ack while the next one fills, so
   * the pack flush behind an ack does not stop the upload), or right away
   * with `wait` (the run's last stream).
   */
  private async closeStream(wait = false): Promise<void> {
    const up = this.upload;
    if (up !== undefined) {
      const last = this.batcher.flush();
      if (last !== undefined) await this.write(up, last);
      this.upload = undefined;
      up.stream.end();
    }
    const previous = this.acking;
    this.acking = undefined;
    if (previous !== undefined) await this.awaitAck(previous);
    if (up === undefined) return;
    if (wait) await this.awaitAck(up);
    else this.acking = up;
  }

  private async awaitAck(up: OpenStream): Promise<void> {
    const t0 = performance.now();
    const res = await up.response;
    this.stats.durableMs += performance.now() - t0;
    this.stats.stored += Number(res.blobsStored);
    this.stats.duplicate += Number(res.blobsDuplicate);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err ?? new ProtocolError('INTERNAL', 'the upload failed');
    const up = this.upload;
    this.upload = undefined;
    if (up !== undefined) {
      up.response.catch(() => undefined);
      up.stream.cancel();
    }
  }
}

/** The rejection of `p` if it settles within `ms`, else undefined. */
function settledError(p: Promise<unknown>, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, undefined);
    timer.unref();
    p.then(
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      (err: unknown) => {
        clearTimeout(timer);
        resolve(err);
      },
    );
  });
}
