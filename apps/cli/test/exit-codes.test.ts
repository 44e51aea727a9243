// The exit-code table: every pbk code maps to the documented exit code, and
// the table README.md and `pbk --help` show is the one main.ts applies.
import { readFileSync } from 'node:fs';
import { Metadata, status } from '@grpc/grpc-js';
import { ERROR_CODES, fromGrpcStatus, ProtocolError, toGrpcStatus, type ErrorCode } from '@pbk/protocol';
import { describe, expect, it } from 'vitest';
import { CommandError, CredentialsError, InterruptedError, UsageError, VerifyProblemsError } from '../src/errors.js';
import { EXIT_CODE_DOCS, EXIT_FOR_PBK_CODE, exitCodeFor, run } from '../src/main.js';
import { fakeIo } from './helpers.js';

/** The documented table, written out again on purpose: a change to main.ts must change this too. */
const DOCUMENTED: Record<ErrorCode, number> = {
  INTERNAL: 1,
  NO_SPACE: 1,
  RESOURCE_EXHAUSTED: 1,
  CANCELLED: 1,
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  PERMISSION_DENIED: 4,
  UNAUTHENTICATED: 4,
  UNAVAILABLE: 5,
  DEADLINE_EXCEEDED: 5,
  CORRUPT: 6,
  INTEGRITY: 6,
  WRONG_KEY: 6,
  FAILED_PRECONDITION: 8,
  ALREADY_EXISTS: 8,
};

describe('exit codes', () => {
  it('covers every pbk code', () => {
    expect(Object.keys(EXIT_FOR_PBK_CODE).sort()).toEqual([...ERROR_CODES].sort());
    expect(Object.keys(DOCUMENTED).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each([...ERROR_CODES])('%s from the coordinator (through the wire mapping) exits as documented', (code) => {
    // What a handler sends, as the client receives it.
    const sent = toGrpcStatus(new ProtocolError(code, `a ${code} failure`));
    const remote = fromGrpcStatus({ code: sent.code, details: sent.details, metadata: sent.metadata });
    expect(remote.code).toBe(code);
    expect(exitCodeFor(remote)).toBe(DOCUMENTED[code]);
    expect(exitCodeFor(new CommandError(code, 'local'))).toBe(DOCUMENTED[code]);
  });

  it('maps statuses without a pbk-code by their gRPC code', () => {
    expect(exitCodeFor(fromGrpcStatus({ code: status.UNAVAILABLE, details: 'No connection established', metadata: new Metadata() }))).toBe(5);
    expect(exitCodeFor(fromGrpcStatus({ code: status.DATA_LOSS, details: 'x', metadata: new Metadata() }))).toBe(6);
    expect(exitCodeFor(fromGrpcStatus({ code: status.UNIMPLEMENTED, details: 'x', metadata: new Metadata() }))).toBe(8);
  });

  it('maps the CLI error classes', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new CredentialsError('x', '/d'))).toBe(4);
    expect(exitCodeFor(new VerifyProblemsError(2))).toBe(7);
    expect(exitCodeFor(new InterruptedError())).toBe(130);
    expect(exitCodeFor(new Error('a bug'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
    expect(exitCodeFor(undefined)).toBe(1);
  });

  it('documents the same table in pbk --help and README.md', async () => {
    const io = fakeIo();
    await run(['--help'], io);
    const help = io.stdoutText();
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const used = new Set([...Object.values(EXIT_FOR_PBK_CODE), 0, 2, 4, 7, 130]);
    expect(new Set(EXIT_CODE_DOCS.map((d) => d.code))).toEqual(used);
    for (const doc of EXIT_CODE_DOCS) {
      expect(help).toContain(`${String(doc.code).padStart(3)}  ${doc.meaning}`);
      expect(readme).toMatch(new RegExp(`^\\| ${doc.code} \\|`, 'm'));
    }
    for (const code of ERROR_CODES) {
      const row = EXIT_CODE_DOCS.find((d) => d.code === DOCUMENTED[code]);
      expect(row?.meaning, `${code} named on exit ${DOCUMENTED[code]}'s line`).toContain(code);
      expect(readme, `README names ${code}`).toMatch(new RegExp(`^\\| ${DOCUMENTED[code]} \\|.*\\b${code}\\b`, 'm'));
    }
  });
});
