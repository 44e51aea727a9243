/**
 * Worker threads that id, compress and encrypt chunks for storeStream: the
 * main thread cuts chunks and claims them (in stream order), the pool
 * computes their keyed ids and seals what the sink lacks on the other cores.
 * The workers are the chunk workers (chunk-worker.ts) answering two more ops,
 * 'id' and 'seal'; a pool holds one id-key, one DEK and one zstd level, so one
 * pool serves every stream of a run (a base backup stores hundreds of tar
 * members: starting threads per member would cost more than it saves).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Dek } from '@pbk/crypto';
import { DEFAULT_CHUNKER_OPTIONS } from '../chunker/index.js';
import { DEFAULT_ZSTD_LEVEL } from '../compress/zstd.js';
import { CancelledError, StorageError } from '../errors.js';
import type { SealedBlob } from '../pack/index.js';
import { asBuffer, type FromWorker, type ToWorker } from './messages.js';
import { WorkerJobs } from './worker-jobs.js';
import { startWorker } from './worker-pool.js';

export interface SealPoolOptions {
  dek: Dek;
  /** The repository's id-key: ids computed in the pool are keyedId(idKey, chunk). */
  idKey: Buffer;
  /** Default DEFAULT_ZSTD_LEVEL, as storeStream's. */
  zstdLevel?: number;
  /** Worker threads; default defaultSealWorkers(). */
  workers?: number;
}

/**
 * Two workers, or one on a single core. Two keep both cores busy while the
 * main thread cuts chunks (less work per byte than ids and sealing); more
 * would only queue behind each other on the 2-core hosts we size for.
 */
export function defaultSealWorkers(): number {
  return availableParallelism() > 1 ? 2 : 1;
}

/** Jobs sent to one worker at once: the next is already there when one finishes, so a worker never idles on a round trip. */
const JOBS_PER_WORKER = 2;

/** What id() answers: the chunk's id, and the chunk (the same memory back from the worker when it was moved). */
export interface IdedChunk {
  id: Buffer;
  chunk: Buffer;
}

type Job =
  | { op: 'seal'; id: Buffer; chunk: Buffer; move: boolean; rawLength: number; resolve: (b: SealedBlob) => void; reject: (e: unknown) => void }
  | { op: 'id'; chunk: Buffer; move: boolean; resolve: (r: IdedChunk) => void; reject: (e: unknown) => void }
  | { op: 'idSeal'; parts: readonly Buffer[]; move: boolean; rawLength: number; resolve: (b: SealedBlob) => void; reject: (e: unknown) => void };

/**
 * Whether `chunk` may be transferred to a worker instead of copied: it spans
 * its whole ArrayBuffer, so detaching that takes nothing else with it (never
 * true of Node's shared pool for small buffers). The caller must also own it.
 */
export function ownsMemory(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
}

/** Workers of every SealPool in the process that have not exited (tests check that none is left behind). */
const live = new Set<Worker>();

export class SealPool {
  /** Seal workers started and not yet exited, process-wide. */
  static get running(): number {
    return live.size;
  }

  readonly dekId: Buffer;
  readonly zstdLevel: number;
  private readonly idKey: Buffer;
  private readonly jobs = new WorkerJobs<Job>(JOBS_PER_WORKER, post);
  private readonly workers: Worker[] = [];

  constructor(options: SealPoolOptions) {
    this.dekId = Buffer.from(options.dek.id);
    this.zstdLevel = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
    this.idKey = Buffer.from(options.idKey);
    const count = Math.max(1, options.workers ?? defaultSealWorkers());
    // These workers never cut chunks: they get the default chunker.
    const init = { chunker: DEFAULT_CHUNKER_OPTIONS, idKey: options.idKey, dekId: options.dek.id, dekKey: options.dek.key, zstdLevel: this.zstdLevel };
    for (let i = 0; i < count; i++) {
      const worker = startWorker(init);
      live.add(worker);
      this.workers.push(worker);
      this.jobs.add(worker);
      worker.on('message', (m: FromWorker) => this.jobs.settle(worker, m.taskId, (job) => this.answer(job, m)));
      worker.on('error', (err) => this.jobs.fail(new StorageError('INTERNAL', `seal worker failed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => {
        live.delete(worker);
        if (!this.jobs.closed) this.jobs.fail(new StorageError('INTERNAL', `seal worker exited with code ${code}`));
      });
    }
  }

  /** Jobs queued or being sealed. */
  get pending(): number {
    return this.jobs.pending;
  }

  /**
   * Compresses and encrypts one data chunk as sealChunk(dek, 'data', id,
   * chunk, zstdLevel) would. `chunk` may be a view into a larger buffer: the
   * worker gets a copy, the caller's bytes are never detached. With `move`, a
   * chunk that owns its memory (ownsMemory) is transferred instead of copied,
   * and is empty (detached) once this is called: for chunks the caller made
   * and no longer needs.
   */
  seal(id: Buffer, chunk: Buffer, move = false): Promise<SealedBlob> {
    return this.submit((resolve, reject) => ({ op: 'seal', id, chunk, move: move && ownsMemory(chunk), rawLength: chunk.length, resolve, reject }));
  }

  /**
   * keyedId(idKey, chunk), computed in a worker; `chunk` as for seal(). With
   * `move` a chunk that owns its memory travels to the worker and back instead
   * of being copied: use the returned `chunk` afterwards, never the one passed
   * in (detached until this resolves, gone if it rejects).
   */
  id(chunk: Buffer, move = false): Promise<IdedChunk> {
    return this.submit((resolve, reject) => ({ op: 'id', chunk, move: move && ownsMemory(chunk), resolve, reject }));
  }

  /**
   * id() and seal() in one trip: the sealed blob (its `id` the chunk's keyed
   * id). For a stream whose chunks are nearly all missing (a first backup),
   * where asking before sealing only adds a second trip and a second copy.
   * `chunk` may also be given as its parts in order (FixedChunker.pushParts),
   * joined in the worker. With `move`, each part (or the chunk) that owns its
   * memory is transferred and detached, the others are copied (seal()).
   */
  idAndSeal(chunk: Buffer | readonly Buffer[], move = false): Promise<SealedBlob> {
    const parts = Buffer.isBuffer(chunk) ? [chunk] : (chunk as readonly Buffer[]);
    let rawLength = 0;
    for (const p of parts) rawLength += p.length;
    return this.submit((resolve, reject) => ({ op: 'idSeal', parts, move, rawLength, resolve, reject }));
  }

  /** Whether ids from this pool are keyedId(idKey, ...) for this idKey. */
  hasIdKey(idKey: Buffer): boolean {
    return idKey.equals(this.idKey);
  }

  private submit<T>(job: (resolve: (v: T) => void, reject: (e: unknown) => void) => Job): Promise<T> {
    if (this.jobs.failed !== undefined) return Promise.reject(this.jobs.failed);
    if (this.jobs.closed) return Promise.reject(new CancelledError('sealing (the seal pool is closed)'));
    return new Promise<T>((resolve, reject) => this.jobs.submit(job(resolve, reject)));
  }

  /** Stops the workers; jobs not answered yet fail with CancelledError. */
  async close(): Promise<void> {
    if (this.jobs.closed) return;
    await this.jobs.close(new CancelledError('sealing (the seal pool was closed)'));
    for (const w of this.workers) live.delete(w);
  }

  private answer(job: Job, m: FromWorker): void {
    // rawLength from the job: a moved chunk is detached (length 0) by now.
    if (m.op === 'sealed' && job.op === 'seal') job.resolve({ type: 'data', id: job.id, dekId: this.dekId, sealed: asBuffer(m.sealed), rawLength: job.rawLength });
    else if (m.op === 'sealed' && job.op === 'idSeal' && m.id !== undefined) job.resolve({ type: 'data', id: asBuffer(m.id), dekId: this.dekId, sealed: asBuffer(m.sealed), rawLength: job.rawLength }); else if (m.op === 'ided' && job.op === 'id') job.resolve({ id: asBuffer(m.id), chunk: m.chunk !== undefined ? asBuffer(m.chunk) : job.chunk });
    else if (m.op === 'fatal') job.reject(new StorageError('INTERNAL', `${job.op === 'seal' ? `sealing chunk ${job.id.toString('hex')}` : job.op === 'idSeal' ? 'sealing a chunk' : 'computing a chunk id'} failed in a worker: ${m.message}`));
    else job.reject(new StorageError('INTERNAL', `seal worker protocol: answer ${m.op} to ${job.op}`));
  }
}

function post(worker: Worker, taskId: number, job: Job): void {
  // Moved: the caller's own memory, detached here. Otherwise a copy the worker owns: chunks are often
  // views of the caller's pushed buffers, which must stay intact.
  const transfer: ArrayBuffer[] = [];
  const hand = (b: Buffer, move: boolean): Uint8Array => {
    let out: Uint8Array;
    if (move) out = b;
    else {
      out = new Uint8Array(b.length);
      out.set(b);
    }
    transfer.push(out.buffer as ArrayBuffer);
    return out;
  };
  let msg: ToWorker;
  if (job.op === 'seal') msg = { op: 'seal', taskId, id: new Uint8Array(job.id), chunk: hand(job.chunk, job.move) };
  else if (job.op === 'id') msg = { op: 'id', taskId, chunk: hand(job.chunk, job.move), returnChunk: job.move };
  else msg = { op: 'idSeal', taskId, parts: job.parts.map((p) => hand(p, job.move && ownsMemory(p))) };
  worker.postMessage(msg, transfer);
}
