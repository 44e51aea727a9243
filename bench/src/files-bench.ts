// The files benchmark: the storage benchmark's data, but through the real
// system: pbk-agent -> gRPC (mutual TLS) -> pbk-coordinator.
//
//   npm run bench:files -- [--data DIR | --generate SIZE] [--json]
//   bash scripts/bench.sh files [same args]       (builds first)
//
// In one temp dir: `pbk-coordinator init`, then `serve` with port 0 on every
// listener (loopback only), a one-time token from `pbk-coordinator token`
// piped into `pbk-agent enroll --token -`, and `pbk-agent run` with two files
// sources: `data` (the benchmark data, watch off) and `watched` (a small
// directory, watch on). Then, over the OperatorService with the admin
// credentials:
//   - first and second backup of `data`: StartBackup(wait=true), timed from the
//     request to the message carrying the committed snapshot;
//   - restore of the second snapshot by the agent into an empty dir, timed to
//     the final RestoreDone, then compared with the data (compare-tree);
//   - change-to-durable: N edits of a small file in `watched`, one at a time;
//     each timed from the write to the coordinator's "backup committed" log
//     line for that source (its own timestamp, 1 ms resolution), the
//     snapshot confirmed through ListSnapshots;
//   - the storage engine's own local figures on the same data in the same run
//     (bench/src/pbk.ts: pbk-phase.js, one process per phase, a fresh local
//     repository), phase by phase next to the end-to-end ones;
//   - peak RSS (VmHWM) and CPU seconds of the coordinator and the agent.
// With generated data the second backups run after mutateDataset(); a
// user's --data DIR is never modified (the second backup sees the same data).
//
// stdout: with --json, exactly one JSON object; otherwise a table and the
// same object pretty-printed. Progress goes to stderr. Exit code 1 when a
// phase failed (the report then carries `error`), 2 on bad usage.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { v1 } from '@pbk/protocol';
import { compareTrees, countByKind, type TreeDifference } from './compare-tree.js';
import { formatBytes, parseSize, treeStats, type TreeStats } from './fs-util.js';
import { mutateDataset, type MutateSummary, prepareDataset } from './gen-data.js';
import { hasGnuTime, type Measured } from './measure.js';
import { PbkEngine, PBK_PHASE_SCRIPT, hasPbkPhase } from './pbk.js';
import { percentile, summarize } from './stats.js';
import {
  AGENT_MAIN, COORDINATOR_MAIN, LineProcess, ProcessMeter, connectOperator, isUnavailable, killAllChildren, missingApps, runToEnd,
  type Line, type Operator,
} from './system.js';

export const USAGE = `usage: node bench/dist/files-bench.js [options]
  --data DIR          back up this directory (never modified; the second backup runs on the same data)
  --generate SIZE     generate SIZE of data in a temp dir (default 1GiB when --data is absent); the
                      second backup runs after changing --fraction of it
  --seed N            generator seed (default 1)
  --fraction F        share of bytes the mutation changes (default 0.05)
  --edits N           edits of the watched file for change-to-durable (default 50)
  --restores N        restore the second snapshot N times (end to end and local alternating; default 1):
                      restore_s is the median, every run in restore_samples_s; for a noisy machine
  --local-runs N      run the local engine's first and second backups N times, each pair into a fresh
                      repository (default 1): its figures are the medians, every run in *_samples_s;
                      the end-to-end backups run once (their repository is the coordinator's)
  --debounce-ms MS    the watched source's debounceMs (default: the agent's default, 500)
  --gap-ms MS         pause after each edit's snapshot before the next edit (default 300)
  --work DIR          parent dir for the temp dir (data, coordinator, agent, restores; default the OS temp dir)
  --keep              keep the temp dir (with the coordinator's and agent's logs) and print where it is
  --cpu-prof DIR      run the coordinator and the agent under node --cpu-prof, profiles into DIR (slows them down:
                      for finding where the time goes, not for figures)
  --no-restore        skip both restores (and restored_identical): for iterating on the backup figures
  --split-cores       the agent on CPU 0, the coordinator on CPU 1, the local engine on CPU 0 (taskset): each
                      daemon on a core of its own, as on two hosts, against the local engine on the agent's
                      share; without it all of them share every core (the issue's figure)
  --json              print only the JSON object on stdout`;

/** Targets from the issue ("Benchmark"), on about 1 GiB on the 2-core machine. */
export const TARGETS = {
  /** End-to-end throughput as a share of the local engine's, for each of first backup, second backup, restore. */
  vs_local_at_least: 0.8,
  /** Change-to-durable p99, seconds. */
  change_to_durable_p99_below_s: 2,
} as const;

export interface FilesOptions {
  data?: string;
  generate: number;
  seed: number;
  fraction: number;
  edits: number;
  /** Restores of the second snapshot (each engine), for a median on a noisy machine. */
  restores: number;
  /** Local-engine backup pairs (first + second), each into a fresh repository, for a median. */
  localRuns: number;
  debounceMs?: number;
  gapMs: number;
  work?: string;
  keep: boolean;
  json: boolean;
  cpuProf?: string;
  restore: boolean;
  /** Agent and local engine on CPU 0, coordinator on CPU 1. */
  splitCores: boolean;
}

const nonNegativeInt = (text: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v > max) throw new Error(`${flag} must be an integer from 0 to ${max}, got '${text}'`);
  return v;
};

/** Parses the command line; null for --help. Throws on bad usage (exit code 2). */
export function parseFilesOptions(argv: readonly string[]): FilesOptions | null {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' }, generate: { type: 'string' }, seed: { type: 'string' }, fraction: { type: 'string' },
      edits: { type: 'string' }, 'debounce-ms': { type: 'string' }, 'gap-ms': { type: 'string' }, work: { type: 'string' }, 'cpu-prof': { type: 'string' }, restores: { type: 'string' },
      'local-runs': { type: 'string' },
      keep: { type: 'boolean' }, 'no-restore': { type: 'boolean' }, 'split-cores': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  if (values.data !== undefined && values.generate !== undefined) throw new Error('--data and --generate exclude each other');
  if (values.data === '') throw new Error('--data needs a directory');
  const seed = Number(values.seed ?? '1');
  if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
  const fraction = Number(values.fraction ?? '0.05');
  if (!(fraction > 0 && fraction < 1)) throw new Error('--fraction must be in (0, 1)');
  const generate = parseSize(values.generate ?? '1GiB');
  if (generate <= 0) throw new Error('--generate must be more than 0 bytes');
  const edits = nonNegativeInt(values.edits, '--edits', 50, 10_000);
  const debounceMs = values['debounce-ms'] === undefined ? undefined : nonNegativeInt(values['debounce-ms'], '--debounce-ms', 500, 600_000);
  return {
    ...(values.data !== undefined ? { data: resolve(values.data) } : {}),
    generate,
    seed,
    fraction,
    edits,
    restores: Math.max(1, nonNegativeInt(values.restores, '--restores', 1, 100)),
    localRuns: Math.max(1, nonNegativeInt(values['local-runs'], '--local-runs', 1, 9)),
    ...(debounceMs !== undefined ? { debounceMs } : {}),
    gapMs: nonNegativeInt(values['gap-ms'], '--gap-ms', 300, 600_000),
    ...(values.work !== undefined ? { work: resolve(values.work) } : {}),
    keep: values.keep ?? false,
    json: values.json ?? false,
    restore: !(values['no-restore'] ?? false),
    splitCores: values['split-cores'] ?? false,
    ...(values['cpu-prof'] !== undefined ? { cpuProf: resolve(values['cpu-prof']) } : {}),
  };
}

const log = (msg: string): void => {
  process.stderr.write(`[files-bench] ${msg}\n`);
};

/** --split-cores: which CPU each process runs on (taskset lists). */
function splitCores(): { agent: string; coordinator: string; local: string } {
  if (cpus().length < 2) throw new Error(`--split-cores needs at least 2 CPUs, this machine has ${cpus().length}`);
  if (spawnSync('taskset', ['--version']).status !== 0) throw new Error('--split-cores needs taskset (Debian: apt-get install util-linux)');
  return { agent: '0', coordinator: '1', local: '0' };
}
const round = (v: number, digits = 3): number => Number(v.toFixed(digits));
const MB = 1e6;
/** Throughput in MB/s (10^6 bytes per second) of `bytes` in `seconds`. */
const mbps = (bytes: number, seconds: number | null): number | null => (seconds !== null && seconds > 0 ? round(bytes / MB / seconds, 1) : null);
const hrSeconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const HOST = 'bench-host';
const DATA_SOURCE = 'data';
const WATCH_SOURCE = 'watched';
const WATCH_FILE = 'app.conf';
/** Generous bounds: a 1 GiB backup takes about a minute on the 2-core machine. */
const JOB_TIMEOUT_MS = 2 * 60 * 60 * 1000;
const EDIT_TIMEOUT_MS = 30_000;

/** A pino line of the coordinator: "backup committed" of the given source label. */
export function parseCommitLine(text: string, sourceLabel: string): { timeMs: number; snapshot: string } | null {
  if (!text.includes('backup committed')) return null;
  try {
    const j = JSON.parse(text) as { msg?: unknown; source?: unknown; snapshot?: unknown; time?: unknown };
    if (j.msg !== 'backup committed' || j.source !== sourceLabel || typeof j.snapshot !== 'string') return null;
    const timeMs = typeof j.time === 'number' ? j.time : typeof j.time === 'string' ? Date.parse(j.time) : NaN;
    return Number.isFinite(timeMs) ? { timeMs, snapshot: j.snapshot } : null;
  } catch {
    return null;
  }
}

/** A small directory for the watched source: a few config-like files, a subdir, the file the edits change. */
function writeWatchedTree(dir: string): TreeStats {
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  writeFileSync(join(dir, WATCH_FILE), 'listen = 8080\nworkers = 4\n');
  for (let i = 0; i < 8; i++) writeFileSync(join(dir, 'conf.d', `part-${i}.conf`), `# part ${i}\n${'key = value\n'.repeat(50 + i * 20)}`);
  writeFileSync(join(dir, 'README'), 'the files benchmark edits app.conf here to time change-to-durable\n');
  return treeStats(dir);
}

/** The content of edit i: a few hundred bytes, its length varying with i. */
export function editContent(i: number): string {
  return `listen = 8080\nworkers = 4\n# edit ${i}\n${'x'.repeat(100 + (i % 17) * 13)}\n`;
}

interface Figures {
  [key: string]: unknown;
}

/** Phases of one side (end-to-end or local): a failure stops that side, not the benchmark. */
class Side {
  failed = false;
  error: string | undefined;

  constructor(readonly name: string) {}

  async phase(name: string, fn: () => Promise<void>): Promise<void> {
    if (this.failed) return;
    spawnSync('sync');
    log(`${this.name}: ${name}`);
    try {
      await fn();
    } catch (err) {
      this.failed = true;
      this.error = `${name}: ${messageOf(err)}`;
      log(`${this.name}: FAILED ${this.error}`);
    }
  }
}

function ratio(num: number | null | undefined, den: number | null | undefined): number | null {
  return num != null && den != null && den > 0 ? round(num / den) : null;
}

export async function runFilesBench(opts: FilesOptions): Promise<{ report: Record<string, unknown>; failed: boolean }> {
  const missing = missingApps();
  if (missing.length) throw new Error(`build the workspace first (npm run build): missing ${missing.join(', ')}`);
  if (!hasPbkPhase()) throw new Error(`build the workspace first (npm run build): missing ${PBK_PHASE_SCRIPT}`);
  if (opts.data !== undefined && !(existsSync(opts.data) && statSync(opts.data).isDirectory())) throw new Error(`--data ${opts.data} is not a directory`);
  const cores = opts.splitCores ? splitCores() : undefined;

  const parent = opts.work ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const work = realpathSync(mkdtempSync(join(parent, 'pbk-files-bench-')));
  let coordinator: LineProcess | undefined;
  let agent: LineProcess | undefined;
  let operator: Operator | undefined;
  const meters: { coordinator?: ProcessMeter; agent?: ProcessMeter } = {};
  const cleanup = (): void => {
    killAllChildren();
    meters.coordinator?.stop();
    meters.agent?.stop();
    if (opts.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping the coordinator and agent, removing ${work}`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const e2e = new Side('end-to-end');
  const local = new Side('local');
  const files: Figures = {
    first_backup_s: null, first_backup_MBps: null, second_backup_s: null, second_backup_MBps: null,
    restore_s: null, restore_MBps: null, restored_identical: null,
    change_to_durable_p50_s: null, change_to_durable_p99_s: null, samples: 0,
    coordinator_peak_rss_bytes: null, agent_peak_rss_bytes: null,
  };
  const localFigures: Figures = {
    first_backup_s: null, first_backup_MBps: null, second_backup_s: null, second_backup_MBps: null, restore_s: null, restore_MBps: null,
    peak_rss_bytes: null,
  };
  const logsDir = join(work, 'logs');
  mkdirSync(logsDir);
  const workers = Math.max(1, Math.min(64, availableParallelism()));

  try {
    // ------------------------------------------------------------ data
    const { dataDir, generated, generateSeconds } = prepareDataset({ ...opts, work, log });
    const before = treeStats(dataDir);
    const watchDir = join(work, 'watched');
    const watched = writeWatchedTree(watchDir);
    let mutation: MutateSummary | undefined;
    let after: TreeStats = before;

    // ------------------------------------------------------------ the system
    const coordDir = join(work, 'coordinator');
    const stateDir = join(work, 'agent-state');
    const env = { ...process.env, PBK_LOG_LEVEL: process.env.PBK_LOG_LEVEL ?? 'info' };
    const nodeArgs = opts.cpuProf !== undefined ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [];
    if (opts.cpuProf !== undefined) mkdirSync(opts.cpuProf, { recursive: true });
    await e2e.phase('start the coordinator and enroll the agent', async () => {
      const init = await runToEnd(COORDINATOR_MAIN, ['init', '--data', coordDir], { env });
      if (init.code !== 0) throw new Error(`pbk-coordinator init exited ${init.code}: ${(init.stderr || init.stdout).trim().slice(-1000)}`);
      coordinator = new LineProcess('pbk-coordinator', COORDINATOR_MAIN,
        ['serve', '--data', coordDir, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0'],
        { env, logFile: join(logsDir, 'coordinator.log'), nodeArgs, ...(cores ? { cpus: cores.coordinator } : {}) });
      const ready = JSON.parse((await coordinator.waitFor((l) => l.text.includes('"event":"ready"'), { timeoutMs: 60_000, what: 'the ready line' })).text) as { grpc: string };
      meters.coordinator = new ProcessMeter(coordinator.pid);
      log(`coordinator ready on ${ready.grpc} (pid ${coordinator.pid})`);

      const token = await runToEnd(COORDINATOR_MAIN, ['token', '--data', coordDir, '--host', HOST], { env });
      if (token.code !== 0) throw new Error(`pbk-coordinator token exited ${token.code}: ${token.stderr.trim().slice(-1000)}`);
      // the token travels on stdin only (never argv)
      const enroll = await runToEnd(AGENT_MAIN, ['enroll', '--coordinator', ready.grpc, '--token', '-', '--state', stateDir], { env, input: token.stdout.trim() + '\n' });
      if (enroll.code !== 0) throw new Error(`pbk-agent enroll exited ${enroll.code}: ${(enroll.stderr || enroll.stdout).trim().slice(-1000)}`);

      const config = join(work, 'agent.yaml');
      writeFileSync(config, [
        `state: ${JSON.stringify(stateDir)}`,
        'logLevel: info',
        `workers: ${workers}`,
        'sources:',
        `  - name: ${DATA_SOURCE}`,
        '    kind: files',
        `    paths: [${JSON.stringify(dataDir)}]`,
        '    watch: false',
        `  - name: ${WATCH_SOURCE}`,
        '    kind: files',
        `    paths: [${JSON.stringify(watchDir)}]`,
        '    watch: true',
        ...(opts.debounceMs !== undefined ? [`    debounceMs: ${opts.debounceMs}`] : []),
        '',
      ].join('\n'));
      const from = coordinator.count;
      agent = new LineProcess('pbk-agent', AGENT_MAIN, ['run', '--config', config], { env, logFile: join(logsDir, 'agent.log'), nodeArgs, ...(cores ? { cpus: cores.agent } : {}) });
      meters.agent = new ProcessMeter(agent.pid);
      operator = await connectOperator(ready.grpc, join(coordDir, 'admin'));
      // ready = the watched source's start-up snapshot is committed (backupOnStart) and the agent is connected
      await coordinator.waitFor((l) => parseCommitLine(l.text, `${HOST}/files/${WATCH_SOURCE}`) !== null, { from, timeoutMs: 60_000, what: "the watched source's start-up snapshot" });
      for (const end = Date.now() + 30_000; ; await sleep(100)) {
        const st = await operator.status().catch(() => undefined);
        if (st?.agents.some((a) => a.host === HOST && a.connected)) break;
        if (Date.now() > end) throw new Error(`the agent did not connect; its last lines:\n${agent.tail()}`);
      }
      log(`agent ${HOST} connected (pid ${agent.pid}, ${workers} workers)`);
      meters.coordinator.mark('startup');
      meters.agent.mark('startup');
    });

    const snapshots: v1.SnapshotInfo__Output[] = [];
    const backups: Figures[] = [];
    const backup = async (label: 'first_backup' | 'second_backup', bytes: number): Promise<void> => {
      const op = operator!;
      const start = process.hrtime.bigint();
      let snap: v1.SnapshotInfo__Output;
      for (const end = Date.now() + 30_000; ;) {
        try {
          snap = await op.backup(HOST, DATA_SOURCE, 'BACKUP_MODE_INCREMENTAL', JOB_TIMEOUT_MS);
          break;
        } catch (err) {
          if (!isUnavailable(err) || Date.now() > end) throw err;
          await sleep(250); // the agent's Control stream is reconnecting
        }
      }
      const s = hrSeconds(start);
      meters.coordinator?.mark(label);
      meters.agent?.mark(label);
      snapshots.push(snap);
      files[`${label}_s`] = round(s);
      files[`${label}_MBps`] = mbps(bytes, s);
      backups.push({
        snapshot: snap.id.toString('hex'), mode: snap.mode, files: Number(snap.stats?.files ?? 0), total_bytes: Number(snap.stats?.totalBytes ?? 0),
        new_bytes: Number(snap.stats?.newBytes ?? 0), uploaded_bytes: Number(snap.stats?.uploadedBytes ?? 0), bytes_read: Number(snap.labels['bytes_read'] ?? 0),
        skipped: Number(snap.stats?.skipped ?? 0), trigger: snap.labels['trigger'] ?? null,
      });
      log(`${label}: ${s.toFixed(2)} s, ${files[`${label}_MBps`]} MB/s`);
    };

    // One repository per local run; the first one's snapshots are the ones restored.
    const engines = Array.from({ length: opts.localRuns }, (_, i) => new PbkEngine(join(work, i === 0 ? 'local-repo' : `local-repo-${i + 1}`), 100, cores?.local));
    for (const e of engines) mkdirSync(e.repoDir);
    const engine = engines[0]!;
    const localSnapshots: string[] = [];
    const localPeaks: Record<string, number | null> = {};
    const localRecord = (phase: string, m: Measured): void => {
      localPeaks[phase] = m.peakRssBytes;
      const peaks = Object.values(localPeaks).filter((v): v is number => v !== null);
      localFigures['peak_rss_bytes'] = peaks.length ? Math.max(...peaks) : null;
    };
    const localBackup = async (label: 'first_backup' | 'second_backup', bytes: number): Promise<void> => {
      const runs: Awaited<ReturnType<PbkEngine['backup']>>[] = [];
      for (const e of engines) {
        // Each run starts from flushed page cache, as the phase itself did.
        if (runs.length > 0) spawnSync('sync');
        runs.push(await e.backup(dataDir));
        if (engines.length > 1) log(`local ${label} (run ${runs.length} of ${engines.length}): ${runs.at(-1)!.measured.wallSeconds.toFixed(2)} s`);
      }
      const samples = runs.map((r) => r.measured.wallSeconds);
      localSnapshots.push(runs[0]!.snapshot);
      if (engines.length > 1) localFigures[`${label}_samples_s`] = samples.map((v) => round(v));
      localRecord(label, runs[0]!.measured);
      const s = percentile(samples, 50)!;
      localFigures[`${label}_s`] = round(s);
      localFigures[`${label}_MBps`] = mbps(bytes, s);
      log(`local ${label}: ${s.toFixed(2)} s${engines.length > 1 ? ' (median)' : ''}`);
    };

    // ------------------------------------------------------------ first backups
    await e2e.phase('first backup', () => backup('first_backup', before.bytes));
    await local.phase('init', async () => {
      for (const e of engines.slice(1)) await e.init();
      localRecord('init', (await engine.init()));
    });
    await local.phase('first backup', () => localBackup('first_backup', before.bytes));

    if (generated) {
      log(`changing ${opts.fraction * 100}% of the data`);
      mutation = mutateDataset(dataDir, { fraction: opts.fraction, seed: opts.seed });
      after = treeStats(dataDir);
    }

    // ------------------------------------------------------------ second backups
    await e2e.phase('second backup', () => backup('second_backup', after.bytes));
    await local.phase('second backup', () => localBackup('second_backup', after.bytes));

    // ------------------------------------------------------------ restores of the second snapshot
    const e2eRestores: number[] = [];
    const localRestores: number[] = [];
    for (let run = 0; opts.restore && run < opts.restores; run++) {
      const label = run === 0 ? 'restore' : `restore_${run + 1}`;
      await e2e.phase(label, async () => {
        const target = join(work, 'restore-e2e');
        try {
          const start = process.hrtime.bigint();
          const done = await operator!.restore(HOST, DATA_SOURCE, snapshots[1]!.id, target, JOB_TIMEOUT_MS);
          const s = hrSeconds(start);
          meters.coordinator?.mark(label);
          meters.agent?.mark(label);
          e2eRestores.push(s);
          files['restore'] = { files: Number(done.files), dirs: Number(done.dirs), bytes: Number(done.bytes), agent_duration_ms: Number(done.durationMs) };
          log(`${label}: ${s.toFixed(2)} s, ${mbps(after.bytes, s)} MB/s`);
          if (run > 0) return;
          // the snapshot's root mirrors the absolute path: TARGET/<dataDir without its leading '/'>
          const diffs: TreeDifference[] = await compareTrees(dataDir, join(target, dataDir.replace(/^\/+/, '')), { limit: 10_000 });
          files['restored_identical'] = diffs.length === 0;
          if (diffs.length) files['differences'] = { count: diffs.length, by_kind: countByKind(diffs), first: diffs.slice(0, 10) };
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      });
      await local.phase(label, async () => {
        const target = join(work, 'restore-local');
        try {
          const r = await engine.restore(localSnapshots[1]!, target);
          if (run === 0) localRecord('restore', r.measured);
          localRestores.push(r.measured.wallSeconds);
          log(`local ${label}: ${r.measured.wallSeconds.toFixed(2)} s`);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      });
    }
    if (e2eRestores.length > 0) {
      const s = percentile(e2eRestores, 50)!;
      files['restore_s'] = round(s);
      files['restore_MBps'] = mbps(after.bytes, s);
      if (opts.restores > 1) files['restore_samples_s'] = e2eRestores.map((v) => round(v));
    }
    if (localRestores.length > 0) {
      const s = percentile(localRestores, 50)!;
      localFigures['restore_s'] = round(s);
      localFigures['restore_MBps'] = mbps(after.bytes, s);
      if (opts.restores > 1) localFigures['restore_samples_s'] = localRestores.map((v) => round(v));
    }

    // ------------------------------------------------------------ change-to-durable
    const latencies: number[] = [];
    const observed: number[] = [];
    const extraSnapshots: number[] = [];
    let lastWatchedSnapshot: Buffer | undefined;
    await e2e.phase(`change-to-durable (${opts.edits} edits)`, async () => {
      const coord = coordinator!;
      const label = `${HOST}/files/${WATCH_SOURCE}`;
      const path = join(watchDir, WATCH_FILE);
      await sleep(opts.gapMs);
      for (let i = 0; i < opts.edits; i++) {
        let from = coord.count;
        const writeMs = Date.now();
        await writeFile(path, editContent(i));
        // the first commit of the watched source whose run started after the write (so it holds the edit)
        let commits = 0;
        for (;;) {
          const line: Line = await coord.waitFor((l) => parseCommitLine(l.text, label) !== null, { from, timeoutMs: EDIT_TIMEOUT_MS, what: `the snapshot of edit ${i + 1}` });
          const c = parseCommitLine(line.text, label)!;
          commits++;
          const list = await operator!.listSnapshots({ host: HOST, source: WATCH_SOURCE, limit: 20 });
          const snap = list.find((s) => s.id.toString('hex') === c.snapshot);
          if (!snap) throw new Error(`the coordinator logged snapshot ${c.snapshot} as committed, but ListSnapshots does not list it`);
          if (Number(snap.timeUnixMs) >= writeMs) {
            latencies.push((c.timeMs - writeMs) / 1000);
            observed.push((line.atMs - writeMs) / 1000);
            lastWatchedSnapshot = snap.id;
            break;
          }
          // a run that began before the write (should not happen with the gap): wait for the next one
          from = line.index + 1;
          if (commits > 5) throw new Error(`edit ${i + 1}: five snapshots committed, none taken after the write`);
        }
        if (commits > 1) extraSnapshots.push(i);
        await sleep(opts.gapMs);
      }
      meters.coordinator?.mark('change_to_durable');
      meters.agent?.mark('change_to_durable');
      // the last edit really is in the last snapshot: restore it and read the file back
      const target = join(work, 'restore-watched');
      try {
        await operator!.restore(HOST, WATCH_SOURCE, lastWatchedSnapshot ?? Buffer.alloc(0), target, 120_000);
        const got = await readFile(join(target, watchDir.replace(/^\/+/, ''), WATCH_FILE), 'utf8');
        files['change_to_durable_last_edit_restored'] = opts.edits === 0 || got === editContent(opts.edits - 1);
      } finally {
        rmSync(target, { recursive: true, force: true });
      }
    });
    if (latencies.length) {
      const sum = summarize(latencies);
      files['change_to_durable_p50_s'] = round(sum.p50!);
      files['change_to_durable_p99_s'] = round(sum.p99!);
      files['samples'] = sum.samples;
      files['change_to_durable'] = {
        method: "edit = writeFile of a small file in the watched source (one at a time); durable = the coordinator's own 'backup committed' log line for that source (logged after the snapshot object and the catalog row are written); latency = that line's timestamp - Date.now() taken just before the write; each snapshot confirmed in ListSnapshots with a scan time after the write",
        resolution_s: 0.001,
        percentile: 'nearest rank (p99 of 50 samples = the largest)',
        debounce_ms: opts.debounceMs ?? 'agent default (500)',
        gap_ms: opts.gapMs,
        min_s: round(sum.min!), p90_s: round(sum.p90!), max_s: round(sum.max!), mean_s: round(sum.mean!),
        observed_by_bench_p50_s: round(percentile(observed, 50)!), observed_by_bench_p99_s: round(percentile(observed, 99)!),
        edits_with_extra_snapshots: extraSnapshots.length,
        samples_s: latencies.map((v) => round(v)),
      };
    }

    // ------------------------------------------------------------ the end: memory, clean stop
    files['coordinator_peak_rss_bytes'] = meters.coordinator?.peakBytes ?? null;
    files['agent_peak_rss_bytes'] = meters.agent?.peakBytes ?? null;
    if (meters.coordinator && meters.agent) {
      files['by_phase'] = { coordinator: meters.coordinator.phases, agent: meters.agent.phases };
      files['by_phase_peak_rss_exact'] = meters.coordinator.perPhaseExact && meters.agent.perPhaseExact;
    }
    operator?.close();
    operator = undefined;
    if (agent) {
      const r = await agent.stop();
      if (r.code !== 0) log(`pbk-agent exited ${r.signal ?? r.code} on SIGTERM`);
    }
    if (coordinator) {
      const r = await coordinator.stop();
      if (r.code !== 0) log(`pbk-coordinator exited ${r.signal ?? r.code} on SIGTERM`);
    }
    files['snapshots'] = snapshots.map((s) => s.id.toString('hex'));
    files['backups'] = backups;
    files['agent_workers'] = workers;
    if (e2e.error) {
      files['error'] = e2e.error;
      files['log_tail'] = { coordinator: coordinator?.tail(15) ?? null, agent: agent?.tail(15) ?? null };
    }
    localFigures['snapshots'] = localSnapshots;
    if (local.error) localFigures['error'] = local.error;

    const ratios = {
      first_backup_vs_local: ratio(localFigures['first_backup_s'] as number | null, files['first_backup_s'] as number | null),
      second_backup_vs_local: ratio(localFigures['second_backup_s'] as number | null, files['second_backup_s'] as number | null),
      restore_vs_local: ratio(localFigures['restore_s'] as number | null, files['restore_s'] as number | null),
    };
    const atLeast = (v: number | null): { at_least: number; met: boolean | null } => ({ at_least: TARGETS.vs_local_at_least, met: v === null ? null : v >= TARGETS.vs_local_at_least });
    const p99 = files['change_to_durable_p99_s'] as number | null;
    const targets = {
      first_backup_vs_local: atLeast(ratios.first_backup_vs_local),
      second_backup_vs_local: atLeast(ratios.second_backup_vs_local),
      restore_vs_local: atLeast(ratios.restore_vs_local),
      change_to_durable_p99_s: { below: TARGETS.change_to_durable_p99_below_s, met: p99 === null ? null : p99 < TARGETS.change_to_durable_p99_below_s },
      note: 'ratios are end-to-end throughput / local engine throughput on the same bytes (= local seconds / end-to-end seconds); targets are set for about 1 GiB of generated data on a 2-core machine',
    };

    const report = {
      data: {
        bytes_in: before.bytes, files: before.files, dirs: before.dirs, symlinks: before.symlinks, generated,
        ...(generated ? { seed: opts.seed, generate_s: generateSeconds } : { dir: dataDir }),
        second_backup: { bytes_in: after.bytes, files: after.files, mutated: generated },
        ...(mutation ? {
          mutation: {
            fraction: mutation.fraction, bytes_changed: mutation.bytesChanged, bytes_written: mutation.bytesWritten, bytes_deleted: mutation.bytesDeleted,
            files_modified: mutation.filesModified, files_added: mutation.filesAdded, files_deleted: mutation.filesDeleted,
          },
        } : {}),
        watched: { files: watched.files, bytes: watched.bytes, edited: WATCH_FILE, edits: opts.edits },
      },
      files,
      local: localFigures,
      ratios,
      targets,
      host: {
        cpus: cpus().length,
        node: process.version,
        mb: 'MB = 10^6 bytes; MBps = bytes of the source / wall seconds',
        ...(opts.cpuProf !== undefined ? { cpu_prof: `${opts.cpuProf} (the daemons ran under --cpu-prof: their figures are slowed down)` } : {}),
        ...(cores ? { cores: { ...cores, note: 'taskset CPU lists (--split-cores): each daemon on a core of its own, the local engine on the agent\'s' } } : {}),
        rss_method: 'coordinator, agent: VmHWM of their pids (read at each phase end, reset through /proc/PID/clear_refs, polled every 100 ms); local phases: ' +
          (hasGnuTime() ? 'gnu-time (/usr/bin/time -f %M)' : 'VmHWM polled every 20 ms'),
      },
    };
    return { report, failed: e2e.failed || local.failed };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    operator?.close();
    cleanup();
  }
}

function table(report: Record<string, unknown>): string {
  const f = report['files'] as Figures;
  const l = report['local'] as Figures;
  const r = report['ratios'] as Record<string, number | null>;
  const d = report['data'] as { bytes_in: number; files: number };
  const num = (v: unknown, digits = 2): string => (typeof v === 'number' ? v.toFixed(digits) : v === null || v === undefined ? '-' : String(v));
  const rows: [string, unknown, unknown, unknown][] = [
    ['first backup (s)', f['first_backup_s'], l['first_backup_s'], r['first_backup_vs_local']],
    ['first backup (MB/s)', f['first_backup_MBps'], l['first_backup_MBps'], null],
    ['second backup (s)', f['second_backup_s'], l['second_backup_s'], r['second_backup_vs_local']],
    ['restore (s)', f['restore_s'], l['restore_s'], r['restore_vs_local']],
    ['restore (MB/s)', f['restore_MBps'], l['restore_MBps'], null],
  ];
  const lines = [
    `data: ${formatBytes(d.bytes_in)} in ${d.files} files`,
    `${''.padEnd(22)}${'end-to-end'.padStart(12)}${'local'.padStart(12)}${'e2e/local'.padStart(12)}`,
    ...rows.map(([k, a, b, c]) => `${k.padEnd(22)}${num(a).padStart(12)}${num(b).padStart(12)}${(c == null ? '' : num(c, 3)).padStart(12)}`),
    `restored identical: ${num(f['restored_identical'])}`,
    `change-to-durable: p50 ${num(f['change_to_durable_p50_s'], 3)} s, p99 ${num(f['change_to_durable_p99_s'], 3)} s over ${num(f['samples'], 0)} edits`,
    `peak RSS: coordinator ${typeof f['coordinator_peak_rss_bytes'] === 'number' ? formatBytes(f['coordinator_peak_rss_bytes']) : '-'}, agent ${typeof f['agent_peak_rss_bytes'] === 'number' ? formatBytes(f['agent_peak_rss_bytes']) : '-'}`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  // grpc-js sets the TLS servername to the IP it dials (127.0.0.1), which Node
  // flags as DEP0123; the certificate names 127.0.0.1, so drop just that warning.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'DEP0123') process.stderr.write(`(node) ${w.name}: ${w.message}\n`);
  });
  let opts: FilesOptions | null;
  try {
    opts = parseFilesOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`files-bench: ${messageOf(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  if (!opts) {
    console.log(USAGE);
    return;
  }
  const { report, failed } = await runFilesBench(opts);
  if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(table(report) + '\n\n' + JSON.stringify(report, null, 2) + '\n');
  if (failed) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    killAllChildren();
    process.stderr.write(`files-bench: ${messageOf(err)}\n`);
    process.exit(2);
  });
}
