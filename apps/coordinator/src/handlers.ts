/**
 * Glue between async service code and grpc-js handler shapes: every failure
 * is logged once on the server (with its cause when it is not one of ours)
 * and answered with `toGrpcStatus`, so the client gets a gRPC code, the
 * `pbk-code` metadata and an operator's message, never a stack trace.
 */
import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { isErrorCode, toGrpcStatus } from '@pbk/protocol';
import type { Logger } from '@pbk/storage';

export function logFailure(logger: Logger, method: string, err: unknown): void {
  const code = (err as { code?: unknown })?.code;
  if (isErrorCode(code) && code !== 'INTERNAL') {
    logger.info({ method, code, err: (err as Error).message }, 'call refused');
  } else {
    logger.error({ method, err: err instanceof Error ? { message: err.message, stack: err.stack, code } : String(err) }, 'call failed');
  }
}

export function unary<Req, Res>(logger: Logger, method: string, fn: (call: ServerUnaryCall<Req, Res>) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        logFailure(logger, method, err);
        callback(toGrpcStatus(err));
      },
    );
  };
}

export function clientStream<Req, Res>(
  logger: Logger,
  method: string,
  fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    let answered = false;
    fn(call).then(
      (res) => {
        if (!answered) callback(null, res);
        answered = true;
      },
      (err: unknown) => {
        if (answered) return;
        answered = true;
        logFailure(logger, method, err);
        callback(toGrpcStatus(err));
      },
    );
  };
}

export function serverStream<Req, Res>(
  logger: Logger,
  method: string,
  fn: (call: ServerWritableStream<Req, Res>, signal: AbortSignal) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    fn(call, abort.signal).then(
      () => {
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        if (call.cancelled) return;
        logFailure(logger, method, err);
        call.emit('error', toGrpcStatus(err));
      },
    );
  };
}
