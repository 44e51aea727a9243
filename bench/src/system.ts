// The real pbk system for the files benchmark: `pbk-coordinator` and
// `pbk-agent` as child processes (the built apps/*/dist/main.js), their log
// lines, their resident memory and CPU time, and the coordinator's
// OperatorService with the admin credentials `pbk-coordinator init` wrote.
//
// Every child started here is registered in one place; killAllChildren()
// (called from the benchmark's finally, its signal handlers and a process
// 'exit' hook) SIGKILLs whatever is still running, so a failed or interrupted
// run never leaves a coordinator or agent behind.
import { pathToFileURL } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';

export const COORDINATOR_MAIN = fileURLToPath(new URL('../../apps/coordinator/dist/main.js', import.meta.url));
export const AGENT_MAIN = fileURLToPath(new URL('../../apps/agent/dist/main.js', import.meta.url));

/** The built apps the benchmark needs that are missing (empty when all are there). */
export function missingApps(): string[] {
  return [COORDINATOR_MAIN, AGENT_MAIN].filter((p) => !existsSync(p));
}

/** False, with the fix on stderr, when the built apps are missing (a bench then exits 2). */
export function appsBuilt(): boolean {
  const missing = missingApps();
  if (missing.length > 0) process.stderr.write(`build first (npx nx run-many -t build): missing ${missing.join(', ')}\n`);
  return missing.length === 0;
}

/** Runs a bench's `main` when `moduleUrl` is the script node started: exits with its code, or 1 with the stack. */
export function runAsScript(moduleUrl: string, name: string, main: () => Promise<number>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------- children

const children = new Set<ChildProcess>();

/** SIGKILLs every child this module started that is still running. Synchronous: safe in an 'exit' handler. */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

export interface Line {
  /** 0-based position among all lines of the process (pass index + 1 as waitFor's `from` to wait for a later one). */
  index: number;
  text: string;
  /** Date.now() when the line reached this process. */
  atMs: number;
}

/** A child process whose stdout and stderr lines are kept (the last `keep`), mirrored to a log file, and can be waited for. */
export class LineProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Number of lines seen so far (an index for waitFor's `from`). */
  count = 0;
  private readonly recent: Line[] = [];
  private readonly waiters = new Set<{ from: number; pred: (l: Line) => boolean; resolve: (l: Line) => void }>();
  private readonly log: WriteStream | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    script: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; input?: string; logFile?: string; keep?: number; nodeArgs?: readonly string[]; cpus?: string } = {},
  ) {
    installExitHook();
    const keep = opts.keep ?? 400;
    const [file, argv] = onCpus(opts.cpus, process.execPath, [...shebangNodeFlags(script), ...(opts.nodeArgs ?? []), script, ...args]);
    this.child = spawn(file, argv, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error(`${name}: could not start ${script}`);
    this.pid = this.child.pid;
    children.add(this.child);
    this.log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    const splitter = (): ((buf: Buffer) => void) => {
      let partial = '';
      return (buf: Buffer) => {
        const atMs = Date.now();
        const parts = (partial + buf.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const text of parts) {
          if (text === '') continue;
          const line = { index: this.count, text, atMs };
          this.count++;
          this.recent.push(line);
          if (this.recent.length > keep) this.recent.shift();
          this.log?.write(text + '\n');
          for (const w of [...this.waiters]) {
            if (this.count > w.from && w.pred(line)) {
              this.waiters.delete(w);
              w.resolve(line);
            }
          }
        }
      };
    };
    this.child.stdout!.on('data', splitter());
    this.child.stderr!.on('data', splitter());
    this.child.stdin!.on('error', () => {}); // a child that exits before reading its input
    this.child.stdin!.end(opts.input ?? '');
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        children.delete(this.child);
        this.log?.end();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last n lines, for error messages. */
  tail(n = 30): string {
    return this.recent.slice(-n).map((l) => l.text).join('\n');
  }

  /** The first line, among the kept ones and those to come, with index > from (count at some earlier moment), that matches. */
  waitFor(pred: (l: Line) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<Line> {
    const from = opts.from ?? 0;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const firstKept = this.count - this.recent.length; // index (0-based) of recent[0]
    for (let i = Math.max(0, from - firstKept); i < this.recent.length; i++) {
      if (pred(this.recent[i]!)) return Promise.resolve(this.recent[i]!);
    }
    return new Promise<Line>((resolve, reject) => {
      const w = {
        from,
        pred,
        resolve: (l: Line) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.waiters.delete(w);
        reject(new Error(`${this.name}: ${why} while waiting for ${opts.what ?? 'a log line'}; last lines:\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`no match in ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(w);
      this.exited.then(({ code, signal }) => {
        if (this.waiters.has(w)) fail(`exited (${signal ?? `code ${code}`})`);
      }, () => {});
    });
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `cmd args` run on the given CPUs only (taskset's list, e.g. "0" or "0,1"),
 * threads started later included; unchanged without `cpus`. taskset execs the
 * command, so the child's pid is the command's.
 */
export function onCpus(cpus: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [cmd, [...args]] : ['taskset', ['--cpu-list', cpus, cmd, ...args]];
}

/**
 * The node flags a script's shebang names (`#!/usr/bin/env -S node FLAGS`):
 * the benchmarks start each daemon with the flags its bin starts it with
 * (the heap setting in docs/agent-coordinator.md, "Node.js heap").
 */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /^#!\/usr\/bin\/env -S node\s+(.*)$/.exec(first)?.[1]?.trim();
  return flags ? flags.split(/\s+/) : [];
}

/** Runs a command to its end: exit code and all output (stdout and stderr apart). */
export function runToEnd(script: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...shebangNodeFlags(script), script, ...args], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

// ---------------------------------------------------------------- memory and CPU of a running process

function procStatus(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

function readKiB(status: string | null, field: 'VmHWM' | 'VmRSS'): number | null {
  const m = status ? new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status) : null;
  return m ? Number(m[1]) : null;
}

/** user + system CPU seconds of the process so far (its threads included), from /proc/PID/stat; null when unreadable. */
export function cpuSeconds(pid: number, clockTicks = 100): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after "(comm) ": state is field 3, utime field 14, stime field 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / clockTicks : null;
  } catch {
    return null;
  }
}

/**
 * Peak RSS of a long-running process, overall and per phase, from the
 * kernel's own high-water mark (VmHWM in /proc/PID/status). VmHWM never
 * decreases by itself, so reading it at a phase's end gives that phase's peak
 * exactly; it is then reset to the current RSS by writing 5 to
 * /proc/PID/clear_refs (Linux >= 4.0; where that is refused the per-phase
 * figures are cumulative, see `perPhaseExact`). A 100 ms poll also keeps
 * the maximum, so a process that dies mid-phase still leaves a figure.
 * CPU seconds (user + system) are recorded per phase as well.
 */
export class ProcessMeter {
  private peakKiB = 0;
  private spanKiB = 0;
  private spanCpuStart: number | null;
  private readonly timer: NodeJS.Timeout;
  readonly phases: Record<string, { peak_rss_bytes: number | null; cpu_s: number | null }> = {};
  perPhaseExact = true;

  constructor(readonly pid: number) {
    this.spanCpuStart = cpuSeconds(pid);
    this.timer = setInterval(() => this.poll(), 100);
    this.timer.unref();
    this.poll();
  }

  private poll(): number | null {
    const v = readKiB(procStatus(this.pid), 'VmHWM');
    if (v !== null) {
      if (v > this.peakKiB) this.peakKiB = v;
      if (v > this.spanKiB) this.spanKiB = v;
    }
    return v;
  }

  /** Closes the span that began at the previous mark (or at start) under `phase`, and begins the next. */
  mark(phase: string): void {
    this.poll();
    const cpu = cpuSeconds(this.pid);
    this.phases[phase] = {
      peak_rss_bytes: this.spanKiB ? this.spanKiB * 1024 : null,
      cpu_s: cpu !== null && this.spanCpuStart !== null ? Number((cpu - this.spanCpuStart).toFixed(2)) : null,
    };
    this.spanCpuStart = cpu;
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.spanKiB = readKiB(procStatus(this.pid), 'VmHWM') ?? 0;
    } catch {
      this.perPhaseExact = false; // keeps the cumulative high-water mark
    }
  }

  /** The highest VmHWM seen over the process's life (bytes), or null. */
  get peakBytes(): number | null {
    this.poll();
    return this.peakKiB ? this.peakKiB * 1024 : null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- the operator API

/** A gRPC failure as grpc-js reports it (code 14 = UNAVAILABLE). */
interface GrpcError extends Error {
  code?: number;
  details?: string;
}

export interface Operator {
  status(): Promise<v1.StatusResponse__Output>;
  listSnapshots(req: v1.ListSnapshotsRequest): Promise<v1.SnapshotInfo__Output[]>;
  /** StartBackup with wait=true: resolves with the committed snapshot. */
  backup(host: string, source: string, mode: 'BACKUP_MODE_INCREMENTAL' | 'BACKUP_MODE_FULL', timeoutMs: number): Promise<v1.SnapshotInfo__Output>;
  /** Restore of one snapshot into targetDir on the source's host: resolves with the final RestoreDone. */
  restore(host: string, source: string, snapshotId: Buffer, targetDir: string, timeoutMs: number): Promise<v1.RestoreDone__Output>;
  /** CompactRepository (repository maintenance now). */
  compact(dryRun: boolean): Promise<v1.CompactRepositoryResponse__Output>;
  close(): void;
}

/** The coordinator's OperatorService over mutual TLS with the admin credentials in credentialsDir (ca.pem, client.pem, client.key). */
export async function connectOperator(address: string, credentialsDir: string): Promise<Operator> {
  const { OperatorService } = loadProtocol();
  const creds = channelCredentials({
    caPem: await readFile(join(credentialsDir, 'ca.pem'), 'utf8'),
    certPem: await readFile(join(credentialsDir, 'client.pem'), 'utf8'),
    keyPem: await readFile(join(credentialsDir, 'client.key'), 'utf8'),
  });
  const client = new OperatorService(address, creds, clientChannelOptions()) as unknown as v1.OperatorServiceClient;
  const deadline = (ms: number): Date => new Date(Date.now() + ms);

  const unary = <T>(fn: (cb: (err: GrpcError | null, res?: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as T))));

  return {
    status: () => unary<v1.StatusResponse__Output>((cb) => client.status({}, { deadline: deadline(10_000) }, cb)),
    listSnapshots: async (req) => {
      const res = await unary<v1.ListSnapshotsResponse__Output>((cb) => client.listSnapshots(req, { deadline: deadline(10_000) }, cb));
      return [...res.snapshots];
    },
    backup: (host, source, mode, timeoutMs) =>
      new Promise((resolve, reject) => {
        const call = client.startBackup({ source: { host, name: source, kind: 'SOURCE_KIND_FILES' }, mode, wait: true }, { deadline: deadline(timeoutMs) });
        let snapshot: v1.SnapshotInfo__Output | undefined;
        call.on('data', (u: v1.StartBackupUpdate__Output) => {
          if (u.snapshot) snapshot = u.snapshot;
        });
        call.on('error', (e: GrpcError) => reject(e));
        call.on('end', () => (snapshot ? resolve(snapshot) : reject(new Error('StartBackup ended without a snapshot'))));
      }),
    restore: (host, source, snapshotId, targetDir, timeoutMs) =>
      new Promise((resolve, reject) => {
        const call = client.restore({ source: { host, name: source, kind: 'SOURCE_KIND_FILES' }, snapshotId, files: { targetDir } }, { deadline: deadline(timeoutMs) });
        let done: v1.RestoreDone__Output | undefined;
        call.on('data', (u: v1.RestoreUpdate__Output) => {
          if (u.done) done = u.done;
        });
        call.on('error', (e: GrpcError) => reject(e));
        call.on('end', () => (done ? resolve(done) : reject(new Error('Restore ended without a result'))));
      }),
    compact: (dryRun) => unary<v1.CompactRepositoryResponse__Output>((cb) => client.compactRepository({ dryRun }, { deadline: deadline(600_000) }, cb)),
    close: () => client.close(),
  };
}

/** True for a gRPC UNAVAILABLE failure (e.g. the agent's Control stream is not connected yet). */
export function isUnavailable(err: unknown): boolean {
  return (err as GrpcError | undefined)?.code === 14;
}
