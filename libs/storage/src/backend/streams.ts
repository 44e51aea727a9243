import { Readable } from 'node:stream';
import { CancelledError } from '../errors.js';

/**
 * A byte Readable fed from an async iterable, pulled only when the consumer wants
 * more (backpressure), and destroyed with CancelledError when `signal` aborts.
 *
 * Not `Readable.from`: its destroy waits for the iterator to return, so an abort
 * while the source is stalled would not surface until the source moved again.
 * Here the error is emitted at once and the iterator is told to return on the side.
 */
export function readableFromChunks(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, what: string): Readable {
  const iterator = source[Symbol.asyncIterator]();
  let pulling = false;
  let finished = false;
  const stream = new Readable({
    read() {
      if (pulling) return;
      pulling = true;
      void (async () => {
        try {
          for (;;) {
            const next = await iterator.next();
            if (stream.destroyed) return;
            if (next.done) {
              finished = true;
              stream.push(null);
              return;
            }
            // An empty chunk would read as "no data yet" and stall the stream.
            if (next.value.length === 0) continue;
            if (!stream.push(next.value)) return;
          }
        } catch (err) {
          finished = true;
          stream.destroy(err instanceof Error ? err : new Error(String(err)));
        } finally {
          pulling = false;
        }
      })();
    },
    destroy(err, callback) {
      if (!finished) {
        finished = true;
        // Lets the source close what it holds (file handles, inner streams) once it can.
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
      callback(err);
    },
  });
  if (signal) {
    const onAbort = (): void => {
      stream.destroy(new CancelledError(what));
    };
    if (signal.aborted) queueMicrotask(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return stream;
}
