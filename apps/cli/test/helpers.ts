/** A fake process for run(): captured stdout/stderr, fixed clock, no terminal. */
import type { Io } from '../src/output.js';

export interface FakeIo extends Io {
  out: string[];
  err: string[];
  stdoutText(): string;
  stderrText(): string;
}

export function fakeIo(options: { env?: Record<string, string>; now?: number; tty?: boolean; signal?: AbortSignal } = {}): FakeIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    stdoutIsTTY: options.tty ?? false,
    columns: () => 100,
    env: options.env ?? {},
    now: () => options.now ?? Date.UTC(2024, 4, 1, 12),
    signal: options.signal ?? new AbortController().signal,
    stdoutText: () => out.join(''),
    stderrText: () => err.join(''),
  };
}
