import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError } from '../errors.js';

/** Waits `ms`, or rejects as soon as `signal` aborts: the shape every injectable `sleep` option takes. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const defaultSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal ? { signal } : undefined);
};

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/**
 * Settles like `promise`, or rejects with CancelledError the moment `signal` aborts,
 * so a stalled source or peer cannot hold a cancelled operation open.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new CancelledError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new CancelledError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Runs an injected sleep; whatever it rejects with once the signal has aborted becomes CancelledError. */
export async function sleepOrCancel(sleep: Sleep, ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  throwIfAborted(signal, what);
  try {
    await sleep(ms, signal);
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(what);
    throw err;
  }
  // An injected sleep may ignore the signal; the abort still wins.
  throwIfAborted(signal, what);
}
