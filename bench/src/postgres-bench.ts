// The PostgreSQL benchmark (issue 4): base backups, point-in-time restore
// (RTO), logical dump and restore, and RPO, through the real system, side by
// side with pgBackRest on the same cluster when it is installed.
//
//   npm run bench:postgres -- [--scale 50] [--edits random|recent] [--json] [--keep] [--no-pgbackrest] [--rpo-commits N] [--base-only]
//   (--base-only: the first base backup of each tool only, for iterating on the backup path;
//    --cpu-prof DIR: the coordinator and the agent under node --cpu-prof, profiles into DIR;
//    --node-arg FLAG (repeatable): a node flag for both daemons, e.g. --node-arg=--max-semi-space-size=32)
//   npm run bench:postgres -- --restore-only [--wal-seconds 20] [--scale 50] [--json]
//       the restore probe: pgBackRest full, pbk base backup, `pgbench -T` for
//       --wal-seconds (WAL to replay), then pbk's restore to a promoted server
//       (facts: tree restore, promoted) and pgBackRest's, nothing else
//   npm run bench:postgres -- --delta-restore [--restores N] [--wal-seconds 20] [--scale 50] [--json]
//       the same, but the restored backup is made of deltas: a second base backup
//       (pgBackRest: incremental) after chat-like traffic; --restores N restores
//       N times, pbk and pgBackRest alternating (restore_s: the medians)
//   bash scripts/bench.sh postgres [same args]       (builds first)
//
// In one temp dir: a scratch PostgreSQL 15 cluster (testkit, fsync ON,
// archive_mode on so pgBackRest can archive later), `pgbench -i -s SCALE`
// (about 15 MB per scale unit) plus a chat-like `messages` table with an
// index; `pbk-coordinator init` + `serve`, an enrolled `pbk-agent run` with
// one postgres source (WAL streaming on). Then, through the OperatorService:
//   1. base backup (StartBackup wait=true): time, sealed bytes stored (the
//      snapshot's stored_bytes: after delta encoding) and uploaded;
//   2. chat-like traffic (append 5 % more messages, update 1 % of them), a
//      second base backup: time, bytes (target: under 20 % of the first);
//   3. `pgbench -T 30`, a third base backup: time, bytes (reported only);
//   4. restore --latest from the newest base backup with --start: time to a
//      consistent promoted server (RTO; pg_amcheck after it is reported apart);
//   5. logical dump (pg_dump -Fd -j 2) and `pg_restore -j 2` into a new database;
//   6. RPO: measureRpo from bench/src/postgres-rpo.ts (commit -> WAL listed durable),
//      100 commits, once the WAL stream has caught up with the ~1 GB of WAL the
//      logical restore wrote (the wait is reported as wal_catch_up_before_rpo_s).
// pgBackRest (posix repo, zst, process-max=2, async archive-push): stanza,
// full backup, the same chat-like traffic, incremental backup, restore to a
// promoted server, and its RPO with archive_timeout=60 (a few samples: each
// waits for the timeout).
//
// stdout: with --json exactly one JSON object; otherwise the same, pretty.
// Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';
import { freePort, isRoot, pgBin, pgOsIds, pgTempDir, run, runAsPg, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import { chatTraffic, createChatDataset } from './pg-chat.js';
import { connectAgentWal, measureRpo, waitWalCaughtUp } from './postgres-rpo.js';
import { summarize } from './stats.js';
import { AGENT_MAIN, COORDINATOR_MAIN, LineProcess, appsBuilt, cpuSeconds, killAllChildren, runAsScript, runToEnd } from './system.js';

const TARGET_SECOND_SHARE = 0.2;
const PG_SOURCE: v1.SourceRef = { host: 'db-1', kind: 'SOURCE_KIND_POSTGRES', name: 'main' };
const TARGET_RPO_P99_S = 1;

interface Figures {
  base_backup_s?: number;
  /** pbk: sealed bytes the repository stored (stats.storedBytes, after delta encoding); pgBackRest: repository growth. */
  base_backup_bytes?: number;
  /** pbk: sealed bytes uploaded (stats.uploadedBytes); a changed relation chunk travels whole and may be stored as a delta. */
  base_backup_uploaded_bytes?: number;
  /** pbk: CPU seconds (user + system, all threads) the agent and the coordinator spent during the first base backup. */
  base_backup_agent_cpu_s?: number | null;
  base_backup_coordinator_cpu_s?: number | null;
  second_backup_s?: number;
  second_backup_bytes?: number;
  second_backup_uploaded_bytes?: number;
  third_backup_after_pgbench_s?: number;
  third_backup_after_pgbench_bytes?: number;
  third_backup_after_pgbench_uploaded_bytes?: number;
  restore_s?: number;
  restore_checks_s?: number;
  /** With --restores N: every run's restore_s (restore_s is their median), tree restore and CPU seconds of the daemons. */
  restore_samples_s?: number[];
  tree_restore_samples_s?: number[];
  restore_cpu_s?: { agent: (number | null)[]; coordinator: (number | null)[] };
  logical_dump_s?: number;
  logical_dump_bytes?: number;
  logical_restore_s?: number;
  rpo_p50_s?: number | null;
  rpo_p99_s?: number | null;
  rpo_samples?: number;
  error?: string;
}

const log = (msg: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const secs = (ms: number): number => Math.round(ms / 10) / 100;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : Math.round(((s[m - 1]! + s[m]!) / 2) * 100) / 100;
};

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

class Operator {
  constructor(private readonly c: v1.OperatorServiceClient) {}

  backup(source: string, variant = ''): Promise<v1.SnapshotInfo__Output> {
    return new Promise((resolve, reject) => {
      const call = this.c.startBackup({ source: { host: 'db-1', name: source }, mode: 'BACKUP_MODE_FULL', wait: true, variant }, { deadline: new Date(Date.now() + 3_600_000) });
      let snap: v1.SnapshotInfo__Output | undefined;
      call.on('data', (u: v1.StartBackupUpdate__Output) => {
        if (u.snapshot) snap = u.snapshot;
      });
      call.on('error', reject);
      call.on('end', () => (snap ? resolve(snap) : reject(new Error('no snapshot'))));
    });
  }

  restore(req: v1.RestoreRequest): Promise<v1.RestoreDone__Output> {
    return new Promise((resolve, reject) => {
      const call = this.c.restore(req, { deadline: new Date(Date.now() + 3_600_000) });
      let done: v1.RestoreDone__Output | undefined;
      call.on('data', (u: v1.RestoreUpdate__Output) => {
        if (u.done) done = u.done;
      });
      call.on('error', reject);
      call.on('end', () => (done ? resolve(done) : reject(new Error('no result'))));
    });
  }
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** pgbackrest as the postgres OS user (it refuses to touch a cluster as another user). */
function pgbackrest(args: string[]): ReturnType<typeof run> {
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', 'pgbackrest', ...args], { allowFailure: true }) : run('pgbackrest', args, { allowFailure: true });
}

/** pgBackRest on the same cluster: full, incremental after the same traffic, restore to promoted, RPO with archive_timeout=60. */
async function benchPgBackRest(pg: PgCluster, rpoSamples: number, edits: 'random' | 'recent', baseOnly = false): Promise<Figures & { version?: string; skipped?: string }> {
  const setup = await pgBackRestSetup(pg);
  if ('skipped' in setup) return setup;
  try {
    if (baseOnly) {
      await setup.full();
      return setup.out;
    }
    return await pgBackRestPhases(pg, setup, rpoSamples, edits);
  } finally {
    await setup.cleanup();
  }
}

interface PgBackRest {
  base: string;
  conf: string;
  out: Figures & { version?: string };
  br(args: string[]): Promise<string>;
  info(): Promise<{ label: string; delta: number }[]>;
  /** A full backup into out.base_backup_s / _bytes. */
  full(): Promise<void>;
  /** Restore of the newest backup, replaying the whole archive, to a promoted server: out.restore_s. */
  restoreToPromoted(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Installs pgbackrest if missing, writes its config (posix repo, zst, process-max=2, async archive-push) and creates the stanza. */
/** `keepLogIn`: copy the restored server's log there (as pgbackrest-recovery.log) after each restore. */
async function pgBackRestSetup(pg: PgCluster, keepLogIn?: string): Promise<PgBackRest | { skipped: string }> {
  if (spawnSync('pgbackrest', ['version']).status !== 0) {
    log('installing pgbackrest (apt-get install -y pgbackrest)...');
    const r = spawnSync('apt-get', ['install', '-y', 'pgbackrest'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) return { skipped: `pgbackrest not installed and apt-get install failed: ${r.stderr.toString().slice(-300)}` };
  }
  const version = spawnSync('pgbackrest', ['version']).stdout.toString().trim();
  const out: Figures & { version?: string } = { version };
  const base = await pgTempDir('pbk-bench-pgbr-');
  const conf = join(base, 'pgbackrest.conf');
  const { uid, gid } = await pgOsIds();
  for (const d of ['repo', 'spool', 'log', 'lock']) {
    mkdirSync(join(base, d), { mode: 0o750 });
    chownSync(join(base, d), uid, gid);
  }
  writeFileSync(
    conf,
    [
      '[global]',
      `repo1-path=${join(base, 'repo')}`,
      'repo1-retention-full=10',
      'compress-type=zst',
      'process-max=2',
      'archive-async=y',
      `spool-path=${join(base, 'spool')}`,
      `log-path=${join(base, 'log')}`,
      `lock-path=${join(base, 'lock')}`,
      'log-level-console=warn',
      'start-fast=y',
      '',
      '[bench]',
      `pg1-path=${pg.dataDir}`,
      `pg1-port=${pg.port}`,
      `pg1-socket-path=${pg.baseDir}`,
      '',
    ].join('\n'),
  );
  chownSync(conf, uid, gid);
  const br = async (args: string[]): Promise<string> => {
    const r = await pgbackrest([`--config=${conf}`, '--stanza=bench', ...args]);
    if (r.code !== 0) throw new Error(`pgbackrest ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const info = async (): Promise<{ label: string; delta: number }[]> => {
    const doc = JSON.parse(await br(['info', '--output=json'])) as { backup: { label: string; info: { repository: { delta: number } } }[] }[];
    return doc[0]!.backup.map((b) => ({ label: b.label, delta: b.info.repository.delta }));
  };
  const target = join(base, 'restored');
  const self: PgBackRest = {
    base,
    conf,
    out,
    br,
    info,
    async full() {
      await pg.query('CHECKPOINT');
      log('pgBackRest: full backup...');
      const full = await timed(() => br(['backup', '--type=full']));
      out.base_backup_s = secs(full.ms);
      out.base_backup_bytes = (await info()).at(-1)!.delta;
    },
    async restoreToPromoted() {
      log('pgBackRest: restore (latest) to a promoted server...');
      const port = await freePort();
      mkdirSync(target, { mode: 0o700 });
      chownSync(target, uid, gid);
      const restore = await timed(async () => {
        // No target: recovery replays the whole archive and promotes at its end (target-action applies only to a target).
        await br(['restore', `--pg1-path=${target}`, '--type=default']);
        writeFileSync(join(target, 'postgresql.auto.conf'), `\nport = ${port}\nunix_socket_directories = ''\nlisten_addresses = '127.0.0.1'\narchive_mode = off\n`, { flag: 'a' });
        await runAsPg('pg_ctl', ['-D', target, '-l', join(base, 'restored.log'), '-w', '-t', '3600', 'start']);
        await waitUntil('pgBackRest restore to promote', async () => {
          const r = await runAsPg('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-At', '-c', 'SELECT pg_is_in_recovery()'], { allowFailure: true });
          return r.stdout.trim() === 'f';
        }, 3_600_000, 200);
      });
      out.restore_s = secs(restore.ms);
      await runAsPg('pg_ctl', ['-D', target, '-m', 'immediate', '-w', 'stop'], { allowFailure: true });
      if (keepLogIn !== undefined) copyFileSync(join(base, 'restored.log'), join(keepLogIn, 'pgbackrest-recovery.log'));
      rmSync(target, { recursive: true, force: true });
    },
    async cleanup() {
      // Also after a failed phase: a restored copy may still run, and the repo holds the cluster's data.
      await runAsPg('pg_ctl', ['-D', target, '-m', 'immediate', '-w', 'stop'], { allowFailure: true }).catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await pg.query(`ALTER SYSTEM SET archive_command = 'pgbackrest --config=${conf} --stanza=bench archive-push %p'`);
    await pg.query('SELECT pg_reload_conf()');
    await br(['stanza-create']);
    await br(['check']);
  } catch (err) {
    await self.cleanup();
    throw err;
  }
  return self;
}

async function pgBackRestPhases(pg: PgCluster, b: PgBackRest, rpoSamples: number, edits: 'random' | 'recent'): Promise<Figures & { version?: string }> {
  const { out, br, info, conf } = b;
  await b.full();
  log('pgBackRest: chat-like traffic, incremental backup...');
  await chatTraffic(pg, edits);
  await pg.query('CHECKPOINT');
  const incr = await timed(() => br(['backup', '--type=incr']));
  out.second_backup_s = secs(incr.ms);
  out.second_backup_bytes = (await info()).at(-1)!.delta;
  await b.restoreToPromoted();

  if (rpoSamples > 0) {
    log(`pgBackRest: RPO with archive_timeout=60 (${rpoSamples} samples, each up to ~60 s)...`);
    await pg.query('ALTER SYSTEM SET archive_timeout = 60');
    await pg.query('SELECT pg_reload_conf()');
    await pg.query('CREATE TABLE IF NOT EXISTS pgbr_rpo (id bigserial PRIMARY KEY, pad text)');
    const samples: number[] = [];
    for (let i = 0; i < rpoSamples; i++) {
      // Spread commits over the timeout window, as real commits are.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20_000)));
      await pg.query("INSERT INTO pgbr_rpo (pad) VALUES ('x')");
      const t0 = performance.now();
      const seg = (await pg.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f'))[0]!.f;
      await waitUntil('pgBackRest to archive the segment', async () => {
        const r = await pgbackrest([`--config=${conf}`, '--stanza=bench', 'repo-ls', '--recurse', 'archive']);
        return r.stdout.includes(seg);
      }, 180_000, 250);
      samples.push(performance.now() - t0);
    }
    const s = summarize(samples);
    out.rpo_p50_s = s.p50 === null ? null : secs(s.p50);
    out.rpo_p99_s = s.p99 === null ? null : secs(s.p99);
    out.rpo_samples = samples.length;
    await pg.query('ALTER SYSTEM RESET archive_timeout');
  }
  await pg.query("ALTER SYSTEM SET archive_command = '/bin/true'");
  await pg.query('SELECT pg_reload_conf()');
  return out;
}

/** Ends a --restore-only run after its restores (through the usual cleanup). */
class ProbeDone extends Error {}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'no-pgbackrest': { type: 'boolean', default: false },
      'rpo-commits': { type: 'string', default: '100' },
      'pgbackrest-rpo-samples': { type: 'string', default: '4' },
      edits: { type: 'string', default: 'random' },
      'base-only': { type: 'boolean', default: false },
      // node --cpu-prof for the coordinator and the agent, profiles into DIR (slows them down: figures are not comparable).
      'cpu-prof': { type: 'string' },
      // Extra node flags for both daemons (measuring V8 settings such as --max-semi-space-size).
      'node-arg': { type: 'string', multiple: true },
      // The restore probe: one base backup, --wal-seconds of pgbench traffic, then only the restores (pbk, pgBackRest).
      'restore-only': { type: 'boolean', default: false },
      'wal-seconds': { type: 'string', default: '20' },
      // The restore probe on a backup made of deltas: a second base backup after chat-like traffic.
      'delta-restore': { type: 'boolean', default: false },
      restores: { type: 'string', default: '1' },
      // coordinator.json compressionLevel for pbk (zstd level of data blobs; default: the coordinator's).
      'compression-level': { type: 'string' },
    },
  });
  const restores = Number(values.restores);
  if (!Number.isInteger(restores) || restores < 1 || restores > 50) {
    process.stderr.write('--restores takes an integer 1..50\n');
    return 2;
  }
  const compressionLevel = values['compression-level'] !== undefined ? Number(values['compression-level']) : undefined;
  if (compressionLevel !== undefined && (!Number.isInteger(compressionLevel) || compressionLevel === 0)) {
    process.stderr.write('--compression-level takes a zstd level (-7..19, not 0)\n');
    return 2;
  }
  const baseOnly = values['base-only'];
  const nodeArgs = [...(values['cpu-prof'] !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : []), ...(values['node-arg'] ?? [])];
  const scale = Number(values.scale);
  const edits = values.edits === 'recent' ? 'recent' : values.edits === 'random' ? 'random' : undefined;
  if (edits === undefined) {
    process.stderr.write('--edits takes random (default) or recent\n');
    return 2;
  }
  if (!Number.isInteger(scale) || scale < 1) {
    process.stderr.write('--scale takes a positive integer (pgbench scale factor)\n');
    return 2;
  }
  if (!appsBuilt()) return 2;
  const work = mkdtempSync(join(tmpdir(), 'pbk-pgbench-'));
  const pbk: Figures = {};
  let pgbr: (Figures & { version?: string; skipped?: string }) | undefined;
  const dataset: Record<string, unknown> = { scale };
  let pg: PgCluster | undefined;
  let coord: LineProcess | undefined;
  let agent: LineProcess | undefined;
  let operatorClient: v1.OperatorServiceClient | undefined;
  let agentClient: v1.AgentServiceClient | undefined;
  let restoreRoot: string | undefined;
  try {
    log(`PostgreSQL (fsync on), pgbench -i -s ${scale}...`);
    pg = await startPgCluster({ fast: false, settings: { archive_mode: 'on', archive_command: "'/bin/true'", shared_buffers: "'256MB'", max_wal_size: "'2GB'", checkpoint_timeout: "'15min'" } });
    dataset.messages = await createChatDataset(pg, scale);
    dataset.database_bytes = Number((await pg.query<{ s: string }>('SELECT sum(pg_database_size(oid))::text AS s FROM pg_database'))[0]!.s);

    log('coordinator, agent...');
    const data = join(work, 'coord');
    const init = await runToEnd(COORDINATOR_MAIN, ['init', '--data', data]);
    if (init.code !== 0) throw new Error(`coordinator init: ${init.stderr}`);
    if (compressionLevel !== undefined) {
      const configFile = join(data, 'coordinator.json');
      writeFileSync(configFile, JSON.stringify({ ...(JSON.parse(await readFile(configFile, 'utf8')) as object), compressionLevel }), { mode: 0o600 });
      dataset.compression_level = compressionLevel;
    }
    coord = new LineProcess('coordinator', COORDINATOR_MAIN, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { logFile: join(work, 'coordinator.log'), nodeArgs });
    const ready = JSON.parse((await coord.waitFor((l) => l.text.includes('"event":"ready"'), { what: 'ready' })).text) as { grpc: string };
    const token = await runToEnd(COORDINATOR_MAIN, ['token', '--data', data, '--host', 'db-1']);
    const state = join(work, 'state');
    const enrolled = await runToEnd(AGENT_MAIN, ['enroll', '--coordinator', ready.grpc, '--token', '-', '--state', state], { input: token.stdout.trim() });
    if (enrolled.code !== 0) throw new Error(`enroll: ${enrolled.stderr}`);
    const config = join(work, 'agent.yaml');
    writeFileSync(
      config,
      [`state: ${state}`, `localSocket: ${join(work, 'agent.sock')}`, 'sources:', '  - name: main', '    kind: postgres', '    host: 127.0.0.1', `    port: ${pg.port}`, '    user: postgres',
        '    baseSchedule: null', '    logicalSchedule: null', '    jobs: 2', '    wal:', `      spoolDir: ${join(work, 'spool')}`, ''].join('\n'),
    );
    agent = new LineProcess('agent', AGENT_MAIN, ['run', '--config', config], { logFile: join(work, 'agent.log'), nodeArgs });
    await agent.waitFor((l) => l.text.includes('agent running'), { what: 'agent running', timeoutMs: 60_000 });
    const { OperatorService } = loadProtocol();
    const opCreds = channelCredentials({
      caPem: await readFile(join(data, 'admin/ca.pem'), 'utf8'),
      certPem: await readFile(join(data, 'admin/client.pem'), 'utf8'),
      keyPem: await readFile(join(data, 'admin/client.key'), 'utf8'),
    });
    operatorClient = new OperatorService(ready.grpc, opCreds, clientChannelOptions()) as unknown as v1.OperatorServiceClient;
    const op = new Operator(operatorClient);
    const backupRetrying = async (variant = ''): Promise<v1.SnapshotInfo__Output> => {
      for (let i = 0; ; i++) {
        try {
          return await op.backup('main', variant);
        } catch (err) {
          if ((err as { code?: number }).code !== 14 || i > 100) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };
    /** Chat-like traffic, then pbk's second base backup: its time, bytes stored and uploaded. */
    const chatThenSecondBackup = async (cluster: PgCluster): Promise<void> => {
      dataset.chat_traffic = await chatTraffic(cluster, edits);
      await cluster.query('CHECKPOINT');
      const b2 = await timed(() => backupRetrying());
      pbk.second_backup_s = secs(b2.ms);
      pbk.second_backup_bytes = Number(b2.value.stats?.storedBytes ?? 0);
      pbk.second_backup_uploaded_bytes = Number(b2.value.stats?.uploadedBytes ?? 0);
      log(`  ${pbk.second_backup_s} s, ${pbk.second_backup_bytes} bytes stored, ${pbk.second_backup_uploaded_bytes} uploaded`);
    };

    const wal = await connectAgentWal(ready.grpc, state);
    agentClient = wal.client;
    const { listWal } = wal;


    const deltaRestore = values['delta-restore'];
    const restoreOnly = values['restore-only'] || deltaRestore;
    let probeBr: PgBackRest | { skipped: string } | undefined;
    if (restoreOnly && !values['no-pgbackrest']) {
      // pgBackRest's full comes first, so both tools replay (at least) the same traffic below.
      probeBr = await pgBackRestSetup(pg, values.keep ? work : undefined);
      if (!('skipped' in probeBr)) await probeBr.full();
    }
    // Both tools start from a clean checkpoint: a base backup's own (fast) checkpoint must not pay for the load's dirty buffers.
    await pg.query('CHECKPOINT');
    // And from an archive that has caught up: pgBackRest's archive starts empty at its turn, while pbk's WAL stream
    // is still uploading the data load's WAL (about a GB at scale 50), which the first base backup would wait for.
    {
      const client = await pg.client();
      try {
        const caught = await waitWalCaughtUp({ pg: client, listWal, source: PG_SOURCE }, 600_000);
        dataset.wal_caught_up_before_base = caught;
        if (!caught) log('  the WAL stream did not catch up within 10 min; timing the base backup anyway');
      } finally {
        await client.end();
      }
    }
    log('pbk: base backup 1...');
    // CPU seconds of our two processes (threads included) over the first base backup: steadier than wall time on a shared 2-core host.
    const cpuBefore = { agent: cpuSeconds(agent.pid), coordinator: cpuSeconds(coord.pid) };
    const b1 = await timed(() => backupRetrying());
    pbk.base_backup_s = secs(b1.ms);
    const cpuAfter = { agent: cpuSeconds(agent.pid), coordinator: cpuSeconds(coord.pid) };
    pbk.base_backup_agent_cpu_s = cpuBefore.agent !== null && cpuAfter.agent !== null ? Number((cpuAfter.agent - cpuBefore.agent).toFixed(2)) : null;
    pbk.base_backup_coordinator_cpu_s = cpuBefore.coordinator !== null && cpuAfter.coordinator !== null ? Number((cpuAfter.coordinator - cpuBefore.coordinator).toFixed(2)) : null;
    pbk.base_backup_bytes = Number(b1.value.stats?.storedBytes ?? 0);
    pbk.base_backup_uploaded_bytes = Number(b1.value.stats?.uploadedBytes ?? 0);
    log(`  ${pbk.base_backup_s} s, ${pbk.base_backup_bytes} bytes stored, ${pbk.base_backup_uploaded_bytes} uploaded; CPU agent ${pbk.base_backup_agent_cpu_s} s, coordinator ${pbk.base_backup_coordinator_cpu_s} s`);
    const pbkRestore = async (): Promise<void> => {
      log('pbk: restore --latest with --start (RTO)...');
      await pg!.query('SELECT pg_switch_wal()');
      restoreRoot = await pgTempDir('pbk-bench-restore-');
      const cpu0 = [cpuSeconds(agent!.pid), cpuSeconds(coord!.pid)];
      const r = await op.restore({ source: { host: 'db-1', name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, postgres: { targetDir: join(restoreRoot, 'data'), start: true } });
      const cpu1 = [cpuSeconds(agent!.pid), cpuSeconds(coord!.pid)];
      const used = (i: number): number | null => (cpu0[i] != null && cpu1[i] != null ? Math.round((cpu1[i]! - cpu0[i]!) * 100) / 100 : null);
      (pbk.restore_samples_s ??= []).push(secs(Number(r.facts.promoted_ms)));
      (pbk.tree_restore_samples_s ??= []).push(secs(Number(r.facts.tree_restore_ms)));
      pbk.restore_cpu_s ??= { agent: [], coordinator: [] };
      pbk.restore_cpu_s.agent.push(used(0));
      pbk.restore_cpu_s.coordinator.push(used(1));
      pbk.restore_s = median(pbk.restore_samples_s);
      pbk.restore_checks_s = secs(Number(r.facts.checks_ms));
      dataset.restore_facts = r.facts;
      log(`  promoted after ${secs(Number(r.facts.promoted_ms))} s (tree ${secs(Number(r.facts.tree_restore_ms))} s)`);
      await runAsPg('pg_ctl', ['-D', join(restoreRoot, 'data'), '-m', 'immediate', '-w', 'stop'], { allowFailure: true });
      if (values.keep) copyFileSync(join(restoreRoot, 'data', 'pbk-recovery.log'), join(work, 'pbk-recovery.log'));
      rmSync(restoreRoot, { recursive: true, force: true });
      restoreRoot = undefined;
    };
    if (deltaRestore) {
      log('probe: chat-like traffic, base backup 2 (deltas against the first)...');
      await chatThenSecondBackup(pg);
      if (probeBr !== undefined && !('skipped' in probeBr)) {
        const b = probeBr;
        try {
          const incr = await timed(() => b.br(['backup', '--type=incr']));
          b.out.second_backup_s = secs(incr.ms);
        } catch (err) {
          await b.cleanup();
          probeBr = { skipped: `pgBackRest's incremental backup failed: ${String((err as Error).message ?? err).slice(0, 800)}` };
        }
      }
    }
    if (restoreOnly) {
      log(`probe: pgbench -T ${values['wal-seconds']} (WAL to replay)...`);
      await runAsPg('pgbench', ['-T', String(Number(values['wal-seconds'])), '-c', '2', '-j', '2', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'postgres']);
      dataset.wal_after_base_bytes = Number((await pg.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${b1.value.labels?.stop_lsn ?? '0/0'}')::text AS b`))[0]!.b);
      if (probeBr !== undefined && !('skipped' in probeBr)) {
        const b = probeBr;
        // A pgBackRest failure is its figures' error and ends its part; pbk's restores go on (and pbk's failures are pbk's).
        let brError: string | undefined;
        const brStep = async (step: () => Promise<void>): Promise<void> => {
          if (brError !== undefined) return;
          try {
            await step();
          } catch (err) {
            brError = String((err as Error).message ?? err).slice(0, 800);
          }
        };
        try {
          await brStep(async () => void (await b.br(['check']))); // switches WAL and waits until it is archived: the restore replays all of it
          // Alternating, so a burst of load on a shared machine hits both tools alike.
          const samples: number[] = [];
          for (let i = 0; i < restores; i++) {
            await pbkRestore();
            await brStep(async () => {
              await b.restoreToPromoted();
              samples.push(b.out.restore_s!);
            });
          }
          if (samples.length > 0) b.out.restore_s = median(samples);
          if (samples.length > 1) b.out.restore_samples_s = samples;
          pgbr = brError === undefined ? b.out : { ...b.out, error: brError };
        } finally {
          await b.cleanup();
        }
      } else {
        for (let i = 0; i < restores; i++) await pbkRestore();
        if (probeBr !== undefined) pgbr = probeBr;
      }
      throw new ProbeDone();
    }
    if (!baseOnly) {
      log('pbk: chat-like traffic, base backup 2...');
      await chatThenSecondBackup(pg);
      log('pbk: pgbench -T 30, base backup 3...');
      await runAsPg('pgbench', ['-T', '30', '-c', '2', '-j', '2', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'postgres']);
      const b3 = await timed(() => backupRetrying());
      pbk.third_backup_after_pgbench_s = secs(b3.ms);
      pbk.third_backup_after_pgbench_bytes = Number(b3.value.stats?.storedBytes ?? 0);
      pbk.third_backup_after_pgbench_uploaded_bytes = Number(b3.value.stats?.uploadedBytes ?? 0);

      await pbkRestore();

      log('pbk: logical dump, pg_restore -j 2...');
      const ld = await timed(() => backupRetrying('logical'));
      pbk.logical_dump_s = secs(ld.ms);
      pbk.logical_dump_bytes = Number(ld.value.stats?.totalBytes ?? 0);
      await pg.query('CREATE DATABASE restored');
      const lr = await timed(() =>
        op.restore({ source: { host: 'db-1', name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, postgresLogical: { database: 'postgres', into: `host=127.0.0.1 port=${pg!.port} user=postgres dbname=restored`, jobs: 2 } }),
      );
      pbk.logical_restore_s = secs(lr.ms);

      log(`pbk: RPO (${values['rpo-commits']} commits)...`);
      const client = await pg.client();
      try {
        // The logical restore just wrote ~1 GB of WAL: RPO is measured in steady state, once the
        // stream has caught up; how long catching up took is reported next to it.
        const c = await timed(() => waitWalCaughtUp({ pg: client, listWal, source: PG_SOURCE }, 600_000));
        dataset.wal_catch_up_before_rpo_s = secs(c.ms);
        if (!c.value) log('  the WAL stream did not catch up within 10 min; measuring RPO anyway');
        const rpo = await measureRpo({
          pg: client,
          listWal,
          source: PG_SOURCE,
          commits: Number(values['rpo-commits']),
          gapMs: 100,
          pollMs: 5,
          timeoutMs: 10_000,
        });
        pbk.rpo_p50_s = rpo.samplesMs.p50 === null ? null : rpo.samplesMs.p50 / 1000;
        pbk.rpo_p99_s = rpo.samplesMs.p99 === null ? null : rpo.samplesMs.p99 / 1000;
        pbk.rpo_samples = rpo.commits - rpo.timeouts;
      } finally {
        await client.end();
      }
    }
    await agent.stop();
    agent = undefined;

    if (!values['no-pgbackrest']) pgbr = await benchPgBackRest(pg, Number(values['pgbackrest-rpo-samples']), edits, baseOnly).catch((err: unknown) => ({ error: String((err as Error).message ?? err).slice(0, 800) }));
  } catch (err) {
    if (!(err instanceof ProbeDone)) {
      pbk.error = (err as Error).stack ?? String(err);
      log(`failed: ${pbk.error}`);
    }
  } finally {
    operatorClient?.close();
    agentClient?.close();
    await agent?.stop().catch(() => undefined);
    await coord?.stop().catch(() => undefined);
    await pg?.cleanup().catch(() => undefined);
    await stopAllPgClusters();
    killAllChildren();
    if (restoreRoot && existsSync(restoreRoot)) rmSync(restoreRoot, { recursive: true, force: true });
    if (values.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const report = {
    bench: 'postgres',
    dataset,
    ...pbk,
    second_share_of_first: pbk.base_backup_bytes ? Math.round(((pbk.second_backup_bytes ?? 0) / pbk.base_backup_bytes) * 1000) / 1000 : null,
    targets: {
      second_backup_under_share_of_first: TARGET_SECOND_SHARE,
      rpo_p99_below_s: TARGET_RPO_P99_S,
      base_backup_and_restore_no_slower_than_pgbackrest: true,
    },
    met: {
      second_backup: pbk.base_backup_bytes !== undefined && (pbk.second_backup_bytes ?? Infinity) < TARGET_SECOND_SHARE * pbk.base_backup_bytes,
      rpo: pbk.rpo_p99_s !== undefined && pbk.rpo_p99_s !== null && pbk.rpo_p99_s < TARGET_RPO_P99_S,
      base_backup_vs_pgbackrest: pgbr?.base_backup_s !== undefined && pbk.base_backup_s !== undefined ? pbk.base_backup_s <= pgbr.base_backup_s : null,
      restore_vs_pgbackrest: pgbr?.restore_s !== undefined && pbk.restore_s !== undefined ? pbk.restore_s <= pgbr.restore_s : null,
    },
    pgbackrest: pgbr ?? { skipped: 'disabled with --no-pgbackrest' },
    machine: { cores: (await import('node:os')).availableParallelism(), pg_bin: pgBin('') },
  };
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  return pbk.error ? 1 : 0;
}

runAsScript(import.meta.url, 'postgres-bench', () => main(process.argv.slice(2)));
