/**
 * A promise-chain mutex: `run(fn)` starts `fn` once every earlier `fn` has
 * settled. Used where the coordinator must serialize (DEK and run
 * bookkeeping, repository flushes); blob writes themselves stay concurrent.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    // The chain must not reject, or every later caller would see this failure.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
