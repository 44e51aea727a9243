/**
 * The bookkeeping SealPool and OpenPool share: jobs queued for a few worker
 * threads, each worker holding at most `perWorker` at once (the least busy
 * one takes the next), answers matched by task id, and one failure (a worker
 * that died, or close) rejecting every job not answered yet.
 */
import type { Worker } from 'node:worker_threads';

interface Slot<J> {
  worker: Worker;
  jobs: Map<number, J>;
}

export class WorkerJobs<J extends { reject(e: unknown): void }> {
  private readonly slots: Slot<J>[] = [];
  private readonly queue: J[] = [];
  private nextTask = 1;
  /** Why the pool stopped working (a worker failed); later jobs fail with it too. */
  failed: unknown;
  closed = false;

  /** `post` sends one job to its worker under `taskId` (what to copy or transfer is the pool's business). */
  constructor(
    private readonly perWorker: number,
    private readonly post: (worker: Worker, taskId: number, job: J) => void,
  ) {}

  get workers(): number {
    return this.slots.length;
  }

  /** Jobs queued or being worked on. */
  get pending(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.jobs.size, 0);
  }

  /** A started worker: its messages must come back through settle(worker, ...). */
  add(worker: Worker): void {
    this.slots.push({ worker, jobs: new Map() });
  }

  submit(job: J): void {
    this.queue.push(job);
    this.dispatch();
  }

  /** The answer for `taskId` from `worker`: `answer` settles its job, then the worker gets the next one. */
  settle(worker: Worker, taskId: number, answer: (job: J) => void): void {
    const slot = this.slots.find((s) => s.worker === worker);
    const job = slot?.jobs.get(taskId);
    if (job === undefined) return;
    slot!.jobs.delete(taskId);
    answer(job);
    this.dispatch();
  }

  /** A worker died: every job fails with the same error, and so does every later call. */
  fail(err: unknown): void {
    this.failed ??= err;
    this.rejectAll(err);
  }

  /** Stops the workers; jobs not answered yet fail with `err`. */
  async close(err: unknown): Promise<void> {
    this.closed = true;
    this.rejectAll(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot: Slot<J> | undefined;
      for (const s of this.slots) if (s.jobs.size < this.perWorker && (slot === undefined || s.jobs.size < slot.jobs.size)) slot = s;
      if (slot === undefined) return;
      const job = this.queue.shift()!;
      const taskId = this.nextTask++;
      slot.jobs.set(taskId, job);
      this.post(slot.worker, taskId, job);
    }
  }

  private rejectAll(err: unknown): void {
    for (const s of this.slots) {
      for (const job of s.jobs.values()) job.reject(err);
      s.jobs.clear();
    }
    for (const job of this.queue.splice(0)) job.reject(err);
  }
}
