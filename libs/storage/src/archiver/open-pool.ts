/**
 * Worker threads that open sealed blobs: AES-GCM open, zstd decompress and
 * the keyed-id check of openChunk, off the calling thread. The coordinator
 * checks every uploaded blob on receipt (DESIGN decision 11a) and an agent
 * opens every blob it restores; on the caller's thread that work blocks every
 * other stream's I/O, in a pool it runs on the other cores.
 *
 * Unlike SealPool, a pool holds no keys: each job carries its DEK and id-key,
 * so one pool serves every run and every restore of a process.
 */
import type { Worker } from 'node:worker_threads';
import type { Dek } from '@pbk/crypto';
import { BlobCorruptError, CancelledError, StorageError } from '../errors.js';
import { asBuffer, isShared, ownCopy, ownsItsMemory, type FromOpenWorker, type ToOpenWorker } from './messages.js';
import { runOpenJob, type DeltaBase } from './open-job.js';
import { defaultSealWorkers } from './seal-pool.js';
import { WorkerJobs } from './worker-jobs.js';
import { startWorkerScript } from './worker-pool.js';

export interface OpenPoolOptions {
  /** Worker threads, started at the first job; default defaultSealWorkers(). */
  workers?: number;
  /**
   * Sealed blobs smaller than this (whose plaintext is at most 64 KiB) are
   * opened on the caller's thread: a message round trip costs more than
   * opening a few KiB. 0 sends every blob to the workers.
   */
  inlineBelowBytes?: number;
}

export const DEFAULT_OPEN_INLINE_BELOW = 8 * 1024;
/** Blobs whose plaintext is larger than this go to the workers whatever their sealed size (see run()). */
const INLINE_MAX_RAW_BYTES = 64 * 1024;

/** Jobs sent to one worker at once: small enough to keep the queue fair, enough that a worker never waits for the next message. */
const JOBS_PER_WORKER = 4;

interface Job {
  dek: Dek;
  idKey: Buffer;
  id: Buffer;
  sealed: Buffer;
  rawLength: number | undefined;
  packId: string | undefined;
  wantPlaintext: boolean;
  /** `sealed` owns its whole ArrayBuffer and the caller gave it up: transfer it instead of a copy. */
  move: boolean;
  /** With move: send the bytes back (verifyMoving); without, the worker drops them (openMoving). */
  returnSealed: boolean;
  base: DeltaBase | undefined;
  makeDelta: boolean;
  resolve: (r: Opened) => void;
  reject: (e: unknown) => void;
}

interface Opened {
  plaintext: Buffer | undefined;
  /** The checked bytes: the caller's buffer, or the same memory back from a worker when moved. */
  sealed: Buffer;
  delta?: Buffer;
  baseProblem?: string;
}

/** What checkForDelta answers. */
export interface CheckedUpload {
  /** The checked bytes (as verifyMoving returns them). */
  sealed: Buffer;
  /** The blob sealed as a delta against the candidate base, when that is at most DELTA_MAX_SHARE of `sealed`. */
  delta?: Buffer;
  /** Why the candidate base could not serve: it does not open (the upload itself was fine). */
  baseProblem?: string;
}

export class OpenPool {
  private readonly count: number;
  private readonly inlineBelow: number;
  private readonly jobs = new WorkerJobs<Job>(JOBS_PER_WORKER, post);

  constructor(options: OpenPoolOptions = {}) {
    this.count = Math.max(1, options.workers ?? defaultSealWorkers());
    this.inlineBelow = options.inlineBelowBytes ?? DEFAULT_OPEN_INLINE_BELOW;
  }

  /** Jobs queued or being opened. */
  get pending(): number {
    return this.jobs.pending;
  }

  /**
   * openChunk(dek, idKey, id, sealed, rawLength, packId) in a worker: the
   * plaintext, or BlobCorruptError as openChunk throws it. `sealed` is copied
   * to the worker: the caller's bytes stay intact.
   */
  async open(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string, base?: DeltaBase): Promise<Buffer> {
    return (await this.run(dek, idKey, id, sealed, rawLength, packId, true, false, base, false)).plaintext!;
  }

  /**
   * open() without the copy of `sealed`, which the caller gives up: a buffer
   * that owns its whole ArrayBuffer is moved to the worker (detached here,
   * for good); other buffers are copied. A restore's blobs fresh off the wire.
   */
  async openMoving(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, base?: DeltaBase): Promise<Buffer> {
    const move = ownsItsMemory(sealed);
    return (await this.run(dek, idKey, id, sealed, rawLength, undefined, true, move, base, false, false)).plaintext!;
  }

  /** The check of open() without sending the plaintext back (the coordinator keeps only the sealed bytes). */
  async verify(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string, base?: DeltaBase): Promise<void> {
    await this.run(dek, idKey, id, sealed, rawLength, packId, false, false, base, false);
  }

  /**
   * verifyMoving(), and then the blob sealed again as a delta against `base`
   * (a candidate: the blob it most likely differs little from) when that
   * pays. `base`'s bytes are copied; `sealed` is moved as in verifyMoving.
   */
  async checkForDelta(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, base: DeltaBase): Promise<CheckedUpload> {
    const move = ownsItsMemory(sealed);
    const r = await this.run(dek, idKey, id, sealed, rawLength, undefined, false, move, base, true);
    return { sealed: r.sealed, delta: r.delta, baseProblem: r.baseProblem };
  }

  /**
   * verify() without the copy of `sealed` (up to 1 MiB per blob, the coordinator's
   * receipt check): a buffer that owns its whole ArrayBuffer is moved to the worker
   * and back, and is empty (detached) until this resolves. Use the returned buffer,
   * never `sealed`, afterwards; on an error the bytes are gone. A view onto a
   * SharedArrayBuffer (the coordinator's SharedRing) is read in place: it must not
   * change until this settles. Other buffers are copied, as verify() does.
   */
  async verifyMoving(dek: Dek, idKey: Buffer, id: Buffer, sealed: Buffer, rawLength: number | undefined, packId?: string): Promise<Buffer> {
    const move = ownsItsMemory(sealed);
    return (await this.run(dek, idKey, id, sealed, rawLength, packId, false, move, undefined, false)).sealed;
  }

  /** Stops the workers; jobs not answered yet fail with CancelledError. */
  async close(): Promise<void> {
    if (this.jobs.closed) return;
    await this.jobs.close(new CancelledError('opening blobs (the open pool was closed)'));
  }

  private run(
    dek: Dek,
    idKey: Buffer,
    id: Buffer,
    sealed: Buffer,
    rawLength: number | undefined,
    packId: string | undefined,
    wantPlaintext: boolean,
    move: boolean,
    base: DeltaBase | undefined,
    makeDelta: boolean,
    returnSealed = move,
  ): Promise<Opened> {
    if (this.jobs.failed !== undefined) return Promise.reject(this.jobs.failed);
    if (this.jobs.closed) return Promise.reject(new CancelledError('opening blobs (the open pool is closed)'));
    // A delta's size says nothing of the work: its base is a whole chunk to open. Nor does a small
    // sealed blob's: a chunk of zero pages seals to a few hundred bytes and is a MiB to decompress and hash.
    if (sealed.length < this.inlineBelow && (rawLength ?? 0) <= INLINE_MAX_RAW_BYTES && !base) {
      try {
        const r = runOpenJob({ dek, idKey, id, sealed, rawLength, packId, base, makeDelta });
        return Promise.resolve({ plaintext: wantPlaintext ? r.plaintext : undefined, sealed, delta: r.delta, baseProblem: r.baseProblem });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    // Workers start with the first job that needs one: a process that never opens a large blob starts none.
    if (this.jobs.workers === 0) this.start();
    return new Promise((resolve, reject) => this.jobs.submit({ dek, idKey, id, sealed, rawLength, packId, wantPlaintext, move, returnSealed, base, makeDelta, resolve, reject }));
  }

  private start(): void {
    for (let i = 0; i < this.count; i++) {
      const worker = startWorkerScript('open-worker', null);
      this.jobs.add(worker);
      worker.on('message', (m: FromOpenWorker) => this.jobs.settle(worker, m.taskId, (job) => answer(job, m)));
      worker.on('error', (err) => this.jobs.fail(new StorageError('INTERNAL', `open worker failed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => {
        if (!this.jobs.closed) this.jobs.fail(new StorageError('INTERNAL', `open worker exited with code ${code}`));
      });
    }
  }
}

function post(worker: Worker, taskId: number, job: Job): void {
  let sealed: Uint8Array;
  if (job.move || isShared(job.sealed)) {
    sealed = job.sealed;
  } else {
    sealed = new Uint8Array(job.sealed.length);
    sealed.set(job.sealed);
  }
  const msg: ToOpenWorker = {
    taskId,
    dekId: ownCopy(job.dek.id),
    dekKey: ownCopy(job.dek.key),
    idKey: ownCopy(job.idKey),
    id: ownCopy(job.id),
    sealed,
    rawLength: job.rawLength,
    packId: job.packId,
    wantPlaintext: job.wantPlaintext,
    returnSealed: job.move && job.returnSealed,
    makeDelta: job.makeDelta,
  };
  const transfer = isShared(sealed) ? [] : [sealed.buffer as ArrayBuffer];
  if (job.base) {
    const b = job.base;
    msg.base = { id: ownCopy(b.id), dekId: ownCopy(b.dek.id), dekKey: ownCopy(b.dek.key), sealed: new Uint8Array(b.sealed), rawLength: b.rawLength, packId: b.packId };
    transfer.push(msg.base.sealed.buffer as ArrayBuffer);
  }
  worker.postMessage(msg, transfer);
}

function answer(job: Job, m: FromOpenWorker): void {
  if (m.op === 'opened') {
    job.resolve({
      plaintext: m.plaintext === undefined ? undefined : asBuffer(m.plaintext),
      sealed: m.sealed === undefined ? job.sealed : asBuffer(m.sealed),
      delta: m.delta === undefined ? undefined : asBuffer(m.delta),
      baseProblem: m.baseProblem,
    });
  }
  else if (m.op === 'corrupt') job.reject(new BlobCorruptError(job.id.toString('hex'), job.packId, m.detail));
  else job.reject(new StorageError('INTERNAL', `opening blob ${job.id.toString('hex')} failed in a worker: ${m.message}`));

}
