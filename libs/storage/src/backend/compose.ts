import type { Backend } from './backend.js';
import { RetryingBackend, type RetryOptions } from './retrying.js';
import { ThrottledBackend, type ThrottleOptions } from './throttled.js';

export interface WrapOptions {
  /** Retry transient failures. Omitted: on, with RETRY_DEFAULTS. `false`: off. */
  retry?: RetryOptions | false;
  /** Limit concurrency and bandwidth. Omitted or `false`: no limits (there is no universal default). */
  throttle?: ThrottleOptions | false;
}

/**
 * The one place backend decorators are composed (restic's wrapBackend):
 *
 *   RetryingBackend( ThrottledBackend( inner ) )
 *
 * Retry sits outside the throttle, because:
 * - a retry waiting out its backoff holds no concurrency slot, so healthy operations keep
 *   flowing while a failing one sleeps;
 * - every attempt queues for a slot and pays for its bytes again: re-sent bytes are real
 *   traffic, and the limits hold under a storm of retries;
 * - the retrier sees the caller's Buffer, not a throttled stream of it, so Buffer puts stay
 *   replayable.
 */
export function wrapBackend(inner: Backend, options: WrapOptions = {}): Backend {
  let backend = inner;
  const throttle = options.throttle;
  if (throttle && (throttle.maxConcurrent !== undefined || throttle.bytesPerSecond !== undefined)) {
    backend = new ThrottledBackend(backend, throttle);
  }
  if (options.retry !== false) backend = new RetryingBackend(backend, options.retry ?? {});
  return backend;
}
