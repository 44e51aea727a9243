import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SealedBlob } from '../pack/index.js';
import type { BlobSink } from '../snapshot/index.js';
import { asBuffer, type FileJob, type FileResult, type FromWorker, type ToWorker, type WorkerInit } from './messages.js';

/** Files below this size are grouped into one task, so thousands of small files do not cost a round trip each. */
const SMALL_FILE_BYTES = 1024 * 1024;
const GROUP_FILES = 64;
const GROUP_BYTES = 8 * 1024 * 1024;

interface Pending {
  job: FileJob;
  resolve: (r: FileResult) => void;
  reject: (e: unknown) => void;
}

interface Task {
  id: number;
  items: Pending[];
  claimed: Buffer[];
}

interface Slot {
  worker: Worker;
  tasks: Map<number, Task>;
}

/** Tasks per worker: while one waits for the main thread's answer, the other computes. */
const TASKS_PER_WORKER = 2;

export interface PoolStats {
  bytesRead: number;
  blobsNew: number;
  bytesNewStored: number;
}

/**
 * Runs chunk workers (one per core by default) and answers their questions:
 * which ids are missing (claimed in the sink so duplicates upload once), and
 * where sealed blobs go.
 */
export class ChunkWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextTask = 1;
  private failed: unknown;
  readonly stats: PoolStats = { bytesRead: 0, blobsNew: 0, bytesNewStored: 0 };
  private readonly dekId: Buffer;

  constructor(
    init: WorkerInit,
    private readonly sink: BlobSink,
    options: { workers?: number } = {},
  ) {
    this.dekId = Buffer.from(init.dekId);
    const count = Math.max(1, options.workers ?? availableParallelism());
    for (let i = 0; i < count; i++) {
      const worker = startWorker(init);
      const slot: Slot = { worker, tasks: new Map() };
      worker.on('message', (m: FromWorker) => void this.onMessage(slot, m));
      worker.on('error', (err) => this.fail(slot, err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(slot, new Error(`chunk worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  processFile(job: FileJob): Promise<FileResult> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      while (slot.tasks.size < TASKS_PER_WORKER && this.queue.length > 0) this.startTask(slot);
    }
  }

  private startTask(slot: Slot): void {
    const items = [this.queue.shift()!];
    if (items[0]!.job.size < SMALL_FILE_BYTES) {
      let bytes = items[0]!.job.size;
      while (items.length < GROUP_FILES && this.queue.length > 0) {
        const next = this.queue[0]!;
        if (next.job.size >= SMALL_FILE_BYTES || bytes + next.job.size > GROUP_BYTES) break;
        items.push(this.queue.shift()!);
        bytes += next.job.size;
      }
    }
    const id = this.nextTask++;
    slot.tasks.set(id, { id, items, claimed: [] });
    slot.worker.postMessage({ op: 'files', taskId: id, files: items.map((p) => p.job) } satisfies ToWorker);
  }

  private async onMessage(slot: Slot, m: FromWorker): Promise<void> {
    const task = slot.tasks.get(m.taskId);
    if (!task) return;
    try {
      switch (m.op) {
        case 'ids': {
          const ids = m.ids.map(asBuffer);
          const need = await this.sink.claimMissing(ids);
          ids.forEach((id, i) => need[i] && task.claimed.push(id));
          slot.worker.postMessage({ op: 'need', taskId: m.taskId, need } satisfies ToWorker);
          break;
        }
        case 'blobs': {
          for (const b of m.blobs) {
            const blob: SealedBlob = { type: 'data', id: asBuffer(b.id), dekId: this.dekId, sealed: asBuffer(b.sealed), rawLength: b.rawLength };
            await this.sink.addBlob(blob);
            this.stats.blobsNew++;
            this.stats.bytesNewStored += blob.sealed.length;
          }
          task.claimed = []; // the worker sends every blob of a batch in one message
          slot.worker.postMessage({ op: 'ack', taskId: m.taskId } satisfies ToWorker);
          break;
        }
        case 'done': {
          this.stats.bytesRead += m.bytesRead;
          slot.tasks.delete(task.id);
          m.results.forEach((r, i) => task.items[i]!.resolve(r));
          this.dispatch();
          break;
        }
        case 'sealed':
        case 'ided':
          break; // SealPool's answers; this pool never asks for them
        case 'fatal':
          this.fail(slot, new Error(`chunk worker failed: ${m.message}`));
          break;
      }
    } catch (err) {
      this.fail(slot, err);
    }
  }

  /** A worker or the sink failed: every waiting file fails with the same error, and claims are released. */
  private fail(slot: Slot, err: unknown): void {
    this.failed ??= err;
    for (const task of slot.tasks.values()) {
      this.sink.releaseClaims?.(task.claimed);
      for (const p of task.items) p.reject(err);
    }
    slot.tasks.clear();
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}

/**
 * From dist the worker is plain JS. From src (vitest) it is TypeScript: a tiny
 * bootstrap registers tsx's loader inside the worker thread, then imports it.
 */
export function startWorker(init: WorkerInit): Worker {
  return startWorkerScript('chunk-worker', init);
}

/**
 * Starts one of this folder's worker scripts: the built .js next to this
 * module, or the .ts source through tsx when running from source (tests).
 */
export function startWorkerScript(name: 'chunk-worker' | 'open-worker', workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const url = new URL(`./${name}.ts`, import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
