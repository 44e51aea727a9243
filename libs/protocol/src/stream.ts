/**
 * Stream helpers every pbk process needs around grpc-js streams: writes that
 * honour flow control, and an idle timer for streams (gRPC deadlines are
 * absolute; a stalled peer must be noticed long before one expires).
 */
import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { ProtocolError } from './errors.js';

/**
 * Writes one message and resolves once the stream can take another: at once
 * when write() returns true, after 'drain' otherwise. Rejects with CANCELLED if
 * the stream closes, the peer cancels or `signal` aborts while waiting, so a
 * producer never buffers unboundedly nor waits forever.
 */
export async function writeMessage(stream: Writable, message: unknown, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new ProtocolError('CANCELLED', 'the write was cancelled');
  if (stream.destroyed || stream.writableEnded) throw new ProtocolError('CANCELLED', 'the stream is already closed');
  if (stream.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
      stream.off('cancelled', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new ProtocolError('CANCELLED', 'the stream closed while waiting to send'));
    const onError = (err: Error): void => done(err);
    const onAbort = (): void => done(new ProtocolError('CANCELLED', 'the write was cancelled'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
    // grpc-js server streams report a client's cancellation this way.
    stream.on('cancelled', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface IdleTimer {
  /** Counts as activity (call after each write); reading 'data' counts by itself. */
  touch(): void;
  stop(): void;
}

/**
 * Calls `onIdle` once if `stream` sees no 'data' and no touch() for `ms`.
 * Stops by itself when the stream ends, closes or fails.
 */
export function watchIdle(stream: EventEmitter, ms: number, onIdle: () => void): IdleTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      stop();
      onIdle();
    }, ms);
  };
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    stream.off('data', arm);
    stream.off('end', stop);
    stream.off('close', stop);
    stream.off('error', stop);
  };
  stream.on('data', arm);
  stream.on('end', stop);
  stream.on('close', stop);
  stream.on('error', stop);
  arm();
  const touch = (): void => {
    if (timer !== undefined) arm();
  };
  return { touch, stop };
}
