/**
 * At most `limit` holders at a time; `run(fn)` waits for a free slot (FIFO).
 * Bounds work many concurrent callers would otherwise start all at once.
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot jump the queue.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
