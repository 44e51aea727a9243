/**
 * The built programs as real child processes, for end-to-end tests: every
 * output line kept (stdout and stderr, JSON logs included) and awaitable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const COORDINATOR = fileURLToPath(new URL('../../coordinator/dist/main.js', import.meta.url));
export const AGENT = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The light restore_command entry (src/wal-fetch.ts). */
export const WAL_FETCH = fileURLToPath(new URL('../dist/wal-fetch.js', import.meta.url));
/** The restore_command a restore writes when curl may serve it: bin/wal-fetch.sh in front of WAL_FETCH. */
export const WAL_FETCH_SH = fileURLToPath(new URL('../bin/wal-fetch.sh', import.meta.url));
export const CLI = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line (seen or to come) that matches; rejects with the recent output after `ms`. */
  waitFor(pred: (line: string) => boolean, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

export function startProc(script: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PBK_LOG_LEVEL: 'info', ...env } });
  const lines: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  // A line may arrive in two chunks: keep the unfinished tail until its newline.
  const tails = new Map<unknown, string>();
  const onData = (from: unknown) => (buf: Buffer): void => {
    const parts = ((tails.get(from) ?? '') + buf.toString('utf8')).split('\n');
    tails.set(from, parts.pop() ?? '');
    for (const line of parts) {
      if (line === '') continue;
      lines.push(line);
      for (const w of [...waiters])
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  };
  child.stdout!.on('data', onData(child.stdout));
  child.stderr!.on('data', onData(child.stderr));
  child.stdin!.on('error', () => undefined); // a program that exits before reading its input
  child.stdin!.end(input);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (pred, ms = 60_000) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find(pred);
        if (hit !== undefined) return resolve(hit);
        const timer = setTimeout(() => reject(new Error(`timed out; output so far:\n${lines.slice(-30).join('\n')}`)), ms);
        waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      }),
  };
}

/** Runs a program to its end: exit code, every output line, and stdout alone. */
export async function runProc(script: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; stdout: string }> {
  const p = startProc(script, args, input, env);
  const out: string[] = [];
  p.child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
  const code = await p.exited;
  return { code, out: p.lines.join('\n'), stdout: out.join('') };
}
