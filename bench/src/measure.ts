// Runs one child process and measures its wall time and peak resident set size.
//
// Peak RSS, two ways:
//   1. 'gnu-time' (preferred, used when /usr/bin/time is GNU time): the child
//      runs under `/usr/bin/time -f %M -o FILE`, which reports ru_maxrss from
//      wait4(): the kernel's own high-water mark over the child's whole life,
//      so a short spike between two polls or just before exit is not missed.
//      (GNU time >= 1.8 reports KiB; 1.7 multiplied by 4, so it is rejected.)
//   2. 'proc-poll' (fallback): VmHWM from /proc/<pid>/status every 20 ms,
//      keeping the maximum. VmHWM is itself a high-water mark, so only growth
//      in the last < 20 ms before exit can be missed.
// Either way the figure covers one process (with its threads), not its own
// children; none of the commands benchmarked here fork workers as processes.
//
// Secrets travel in the environment only: runMeasured refuses to start a
// command whose argv contains any of the `secrets` it is given.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type RssMethod = 'gnu-time' | 'proc-poll';

export interface MeasureOptions {
  /** The child's complete environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values that must never appear in argv (passwords, keys). */
  secrets?: readonly string[];
  /** Force a method (tests); default: gnu-time when available. */
  rssMethod?: RssMethod;
  /** Copy the child's stderr to ours as it arrives (progress). Default false. */
  echoStderr?: boolean;
}

export interface Measured {
  /** argv as run, for reports (never contains secrets). */
  command: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  wallSeconds: number;
  /** Peak RSS in bytes, or null when it could not be read. */
  peakRssBytes: number | null;
  rssMethod: RssMethod;
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
}

const STDERR_TAIL = 64 * 1024;
const TIME_BIN = '/usr/bin/time';
let gnuTime: boolean | undefined;

/** True when /usr/bin/time is GNU time >= 1.8 (supports -f %M -o FILE and reports KiB). */
export function hasGnuTime(): boolean {
  if (gnuTime !== undefined) return gnuTime;
  const r = spawnSync(TIME_BIN, ['--version'], { encoding: 'utf8' });
  const m = /GNU Time\)?\s*(\d+)\.(\d+)/i.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  // Debian's build says "GNU Time) UNKNOWN"; trust it when a %M probe works and gives a sane figure.
  if (r.status === 0 && (!m || Number(m[1]) > 1 || Number(m[2]) >= 8)) {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-time-'));
    try {
      const out = join(dir, 'rss');
      const p = spawnSync(TIME_BIN, ['-f', '%M', '-o', out, process.execPath, '-e', '0']);
      const kib = p.status === 0 ? parseTimeOutput(readFileSync(out, 'utf8')) : null;
      // a bare node process is 30-100 MiB; GNU time 1.7 would report 4x that
      gnuTime = kib !== null && kib > 10 * 1024 && kib < 300 * 1024;
    } catch {
      gnuTime = false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    gnuTime = false;
  }
  return gnuTime;
}

/** The last line of GNU time's -o file that is a bare number (KiB); it may be preceded by "Command exited with ...". */
function parseTimeOutput(text: string): number | null {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) if (/^\d+$/.test(l.trim())) return Number(l.trim());
  return null;
}

function readVmHwmKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // gone already, or not Linux
  }
}

/** Runs cmd with args, measuring wall time and peak RSS; never throws for a non-zero exit (see mustSucceed). */
export async function runMeasured(cmd: string, args: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  for (const secret of opts.secrets ?? []) {
    if (secret && [cmd, ...args].some((a) => a.includes(secret))) {
      throw new Error(`refusing to run ${cmd}: a secret would appear on its command line`);
    }
  }
  const method: RssMethod = opts.rssMethod ?? (hasGnuTime() ? 'gnu-time' : 'proc-poll');
  let tmp: string | undefined;
  let file: string;
  let fileArgs: string[];
  if (method === 'gnu-time') {
    tmp = mkdtempSync(join(tmpdir(), 'pbk-measure-'));
    const out = join(tmp, 'rss');
    file = TIME_BIN;
    fileArgs = ['-f', '%M', '-o', out, cmd, ...args];
  } else {
    file = cmd;
    fileArgs = [...args];
  }

  const started = process.hrtime.bigint();
  const child = spawn(file, fileArgs, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => stdout.push(b));
  child.stderr.on('data', (b: Buffer) => {
    if (opts.echoStderr) process.stderr.write(b);
    stderr = (stderr + b.toString('utf8')).slice(-STDERR_TAIL);
  });

  let polledKiB = 0;
  let timer: NodeJS.Timeout | undefined;
  if (method === 'proc-poll' && child.pid !== undefined) {
    const pid = child.pid;
    const poll = (): void => {
      const v = readVmHwmKiB(pid);
      if (v !== null && v > polledKiB) polledKiB = v;
    };
    poll();
    timer = setInterval(poll, 20);
  }

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => { if (timer) clearInterval(timer); });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  let peakKiB: number | null = polledKiB || null;
  if (tmp) {
    try {
      peakKiB = parseTimeOutput(readFileSync(join(tmp, 'rss'), 'utf8'));
    } catch {
      peakKiB = null;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return {
    command: [cmd, ...args],
    exitCode: code,
    signal,
    wallSeconds,
    peakRssBytes: peakKiB === null ? null : peakKiB * 1024,
    rssMethod: method,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr,
  };
}

/** The most useful part of a failed child's stderr: its first error line (else its last lines), at most 500 chars. */
export function errorSummary(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = lines.find((l) => /\b\w*Error\b|^Fatal|^error/i.test(l) && !l.startsWith('at '));
  const text = err ?? lines.slice(-3).join(' | ');
  return (text || '(no stderr)').slice(0, 500);
}

export class PhaseFailedError extends Error {
  constructor(readonly phase: string, readonly measured: Measured) {
    const how = measured.signal ? `signal ${measured.signal}` : `exit code ${measured.exitCode}`;
    super(`${phase} failed (${how}): ${errorSummary(measured.stderr)}`);
    this.name = 'PhaseFailedError';
  }
}

/** Throws PhaseFailedError unless the command exited 0. */
export function mustSucceed(phase: string, m: Measured): Measured {
  if (m.exitCode !== 0) throw new PhaseFailedError(phase, m);
  return m;
}

/** The last line of stdout that parses as a JSON object, or null. */
export function lastJsonLine(stdout: string): Record<string, unknown> | null {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON: keep looking
    }
  }
  return null;
}
