/**
 * One run per source at a time. A request while a run is going on is
 * coalesced into at most ONE pending run (its mode merged: a full wins over an
 * incremental), which starts as soon as the current one ends; everyone who
 * asked while it was pending gets that run's outcome. So a change during a
 * run is never lost (the next run sees it) and a storm of triggers costs at
 * most one extra run.
 */
import { AgentError } from '../errors.js';

export interface RunRequest<P> {
  /** The command that asked (BeginBackup.command_id); undefined for the schedule and the watcher. */
  commandId?: Buffer;
  /** Why: "schedule", "watch", "start", "command"; recorded with the snapshot. */
  reason?: string;
  onProgress?: (progress: P) => void;
}

export interface RunBatch<M, P> {
  mode: M;
  /** Commands this run answers, in request order. */
  commandIds: Buffer[];
  /** Why the run happens (every request's reason, in order). */
  reasons: string[];
  /** Fans a progress report out to every waiter. */
  progress(p: P): void;
  signal: AbortSignal;
}

interface Waiter<R, P> extends RunRequest<P> {
  resolve(r: R): void;
  reject(e: unknown): void;
}

interface Batch<M, R, P> {
  mode: M;
  waiters: Waiter<R, P>[];
  controller: AbortController;
}

export interface QueuedRun<R> {
  result: Promise<R>;
  /** Withdraws this request: out of a pending run, or aborts the run it is in. */
  cancel(reason: string): void;
}

export class RunQueue<M, R, P = unknown> {
  private current: Batch<M, R, P> | undefined;
  private pending: Batch<M, R, P> | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (batch: RunBatch<M, P>) => Promise<R>,
    private readonly merge: (a: M, b: M) => M,
  ) {}

  get running(): boolean {
    return this.current !== undefined;
  }

  get queued(): boolean {
    return this.pending !== undefined;
  }

  request(mode: M, req: RunRequest<P> = {}): QueuedRun<R> {
    let waiter!: Waiter<R, P>;
    const result = new Promise<R>((resolve, reject) => {
      waiter = { ...req, resolve, reject };
    });
    if (this.stopped) {
      waiter.reject(new AgentError('CANCELLED', 'the agent is stopping'));
      return { result, cancel: () => undefined };
    }
    let batch: Batch<M, R, P>;
    if (this.current === undefined) {
      batch = { mode, waiters: [waiter], controller: new AbortController() };
      this.start(batch);
    } else if (this.pending === undefined) {
      batch = this.pending = { mode, waiters: [waiter], controller: new AbortController() };
    } else {
      batch = this.pending;
      batch.mode = this.merge(batch.mode, mode);
      batch.waiters.push(waiter);
    }
    const cancel = (reason: string): void => {
      const err = new AgentError('CANCELLED', reason);
      if (batch === this.pending) {
        batch.waiters = batch.waiters.filter((w) => w !== waiter);
        waiter.reject(err);
        if (batch.waiters.length === 0) this.pending = undefined;
      } else if (batch === this.current) {
        batch.controller.abort(err);
      }
    };
    return { result, cancel };
  }

  /** Resolves once nothing runs and nothing is pending. */
  idle(): Promise<void> {
    if (this.current === undefined && this.pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops the pending run, aborts the current one, and refuses new requests. */
  stop(reason = 'the agent is stopping'): void {
    this.stopped = true;
    const err = new AgentError('CANCELLED', reason);
    const pending = this.pending;
    this.pending = undefined;
    for (const w of pending?.waiters ?? []) w.reject(err);
    this.current?.controller.abort(err);
  }

  private start(batch: Batch<M, R, P>): void {
    this.current = batch;
    const view: RunBatch<M, P> = {
      mode: batch.mode,
      commandIds: batch.waiters.flatMap((w) => (w.commandId ? [w.commandId] : [])),
      reasons: batch.waiters.flatMap((w) => (w.reason ? [w.reason] : [])),
      progress: (p) => {
        for (const w of batch.waiters) {
          try {
            w.onProgress?.(p);
          } catch {
            // a listener's failure is its own business
          }
        }
      },
      signal: batch.controller.signal,
    };
    // The run starts on a later tick, so request() always returns before it begins.
    void Promise.resolve()
      .then(() => this.run(view))
      .then(
        (r) => batch.waiters.forEach((w) => w.resolve(r)),
        (e: unknown) => batch.waiters.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        this.current = undefined;
        const next = this.pending;
        this.pending = undefined;
        if (next !== undefined && !this.stopped) this.start(next);
        else for (const w of this.idleWaiters.splice(0)) w();
      });
  }
}
