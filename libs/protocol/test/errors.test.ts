import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  fromGrpcStatus,
  isRetriable,
  PBK_CODE_METADATA_KEY,
  ProtocolError,
  RemoteError,
  toGrpcStatus,
  type ErrorCode,
} from '../src/errors.js';

class CodedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

// Our code -> the gRPC code a generic client (grpcurl) sees.
const TABLE: [ErrorCode, status][] = [
  ['NOT_FOUND', status.NOT_FOUND],
  ['ALREADY_EXISTS', status.ALREADY_EXISTS],
  ['NO_SPACE', status.RESOURCE_EXHAUSTED],
  ['PERMISSION_DENIED', status.PERMISSION_DENIED],
  ['UNAVAILABLE', status.UNAVAILABLE],
  ['CANCELLED', status.CANCELLED],
  ['CORRUPT', status.DATA_LOSS],
  ['INVALID_ARGUMENT', status.INVALID_ARGUMENT],
  ['FAILED_PRECONDITION', status.FAILED_PRECONDITION],
  ['INTERNAL', status.INTERNAL],
  ['WRONG_KEY', status.FAILED_PRECONDITION],
  ['INTEGRITY', status.DATA_LOSS],
  ['UNAUTHENTICATED', status.UNAUTHENTICATED],
  ['DEADLINE_EXCEEDED', status.DEADLINE_EXCEEDED],
  ['RESOURCE_EXHAUSTED', status.RESOURCE_EXHAUSTED],
];

// A status without pbk-code (grpc-js itself, a proxy) -> our code.
const FROM_PLAIN_GRPC: [status, ErrorCode][] = [
  [status.CANCELLED, 'CANCELLED'],
  [status.UNKNOWN, 'INTERNAL'],
  [status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
  [status.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED'],
  [status.NOT_FOUND, 'NOT_FOUND'],
  [status.ALREADY_EXISTS, 'ALREADY_EXISTS'],
  [status.PERMISSION_DENIED, 'PERMISSION_DENIED'],
  [status.RESOURCE_EXHAUSTED, 'RESOURCE_EXHAUSTED'],
  [status.FAILED_PRECONDITION, 'FAILED_PRECONDITION'],
  [status.ABORTED, 'UNAVAILABLE'],
  [status.OUT_OF_RANGE, 'INVALID_ARGUMENT'],
  [status.UNIMPLEMENTED, 'FAILED_PRECONDITION'],
  [status.INTERNAL, 'INTERNAL'],
  [status.UNAVAILABLE, 'UNAVAILABLE'],
  [status.DATA_LOSS, 'CORRUPT'],
  [status.UNAUTHENTICATED, 'UNAUTHENTICATED'],
];

describe('toGrpcStatus / fromGrpcStatus', () => {
  it('covers every code in the table', () => {
    expect(TABLE.map(([c]) => c).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each(TABLE)('%s travels as gRPC %i and comes back as itself', (code, grpcCode) => {
    const sent = toGrpcStatus(new CodedError(code, `something ${code}: do this`));
    expect(sent.code).toBe(grpcCode);
    expect(sent.details).toBe(`something ${code}: do this`);
    expect(sent.metadata.get(PBK_CODE_METADATA_KEY)).toEqual([code]);

    const back = fromGrpcStatus({ code: sent.code, details: sent.details, metadata: sent.metadata, message: `${sent.code} X: ${sent.details}` });
    expect(back).toBeInstanceOf(RemoteError);
    expect(back.code).toBe(code);
    expect(back.grpcCode).toBe(grpcCode);
    expect(back.message).toBe(`something ${code}: do this`);
  });

  it.each(FROM_PLAIN_GRPC)('gRPC %i without pbk-code becomes %s', (grpcCode, code) => {
    const back = fromGrpcStatus({ code: grpcCode, details: 'd', metadata: new Metadata() });
    expect(back.code).toBe(code);
    expect(back.grpcCode).toBe(grpcCode);
  });

  it('ignores an unknown pbk-code and falls back to the gRPC code', () => {
    const md = new Metadata();
    md.set(PBK_CODE_METADATA_KEY, 'MADE_UP');
    expect(fromGrpcStatus({ code: status.NOT_FOUND, details: 'x', metadata: md }).code).toBe('NOT_FOUND');
  });

  it('turns unknown errors into INTERNAL without leaking message or stack', () => {
    const err = new Error('connect ECONNREFUSED /var/lib/pbk/secret.sock');
    for (const thrown of [err, new TypeError('x is undefined'), 'a string', 42, null, undefined, { code: 'ENOENT', message: 'open /etc/x' }]) {
      const s = toGrpcStatus(thrown);
      expect(s.code).toBe(status.INTERNAL);
      expect(s.metadata.get(PBK_CODE_METADATA_KEY)).toEqual(['INTERNAL']);
      expect(s.details).not.toMatch(/secret|ECONNREFUSED|undefined|ENOENT|\/etc|at /);
    }
  });

  it('keeps the meaning of a nested grpc-js error and of an abort', () => {
    const md = new Metadata();
    md.set(PBK_CODE_METADATA_KEY, 'WRONG_KEY');
    const nested = Object.assign(new Error('9 FAILED_PRECONDITION: kek v3 does not unwrap'), { code: status.FAILED_PRECONDITION, details: 'kek v3 does not unwrap', metadata: md });
    const s = toGrpcStatus(nested);
    expect([s.code, s.details, s.metadata.get(PBK_CODE_METADATA_KEY)[0]]).toEqual([status.FAILED_PRECONDITION, 'kek v3 does not unwrap', 'WRONG_KEY']);

    const abort = AbortSignal.abort().reason as Error;
    expect(toGrpcStatus(abort).code).toBe(status.CANCELLED);
  });

  it('passes a RemoteError through a second hop unchanged', () => {
    const first = fromGrpcStatus(toGrpcStatus(new ProtocolError('INTEGRITY', 'blob ab12 does not hash to its id')));
    const second = fromGrpcStatus(toGrpcStatus(first));
    expect([second.code, second.message]).toEqual(['INTEGRITY', 'blob ab12 does not hash to its id']);
  });

  it('truncates very long messages to fit a header', () => {
    expect(toGrpcStatus(new ProtocolError('INVALID_ARGUMENT', 'x'.repeat(10_000))).details.length).toBeLessThanOrEqual(2048);
  });

  it('retries only UNAVAILABLE', () => {
    expect(ERROR_CODES.filter((c) => isRetriable(new ProtocolError(c, c)))).toEqual(['UNAVAILABLE']);
  });
});
