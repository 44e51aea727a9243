// The PostgreSQL RPO benchmark (issue 4): commit a row, then time until the
// coordinator has durably stored the WAL that contains it.
//
//   node bench/dist/postgres-rpo.js [--commits N] [--gap-ms MS] [--json] [--keep]
//
// The real system, in one temp dir: a scratch PostgreSQL 15 cluster (testkit,
// fsync ON: real commit costs), `pbk-coordinator init` + `serve`, a one-time
// token piped into `pbk-agent enroll`, and `pbk-agent run` with one postgres
// source (WAL streaming on, no scheduled backups). Then, N times, one at a
// time: INSERT (autocommit) on a held connection, `pg_current_wal_lsn()` right
// after it returns (>= the end of the commit record), and the clock starts;
// the coordinator is polled every --poll-ms with ListWal (the agent's own
// credentials, mutual TLS) until the segment holding that LSN is recorded up
// to it. ListWal answers from the catalog, which PutWal writes only after
// every blob is durable, so "listed" means "durable on the coordinator".
//
// `measureRpo` is exported for the other PostgreSQL benchmarks (bench:postgres)
// to call with their own cluster and coordinator.
//
// stdout: with --json exactly one JSON object; otherwise the same, pretty.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';
import { startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import { summarize, type LatencySummary } from './stats.js';
import { AGENT_MAIN, COORDINATOR_MAIN, LineProcess, appsBuilt, killAllChildren, runAsScript, runToEnd } from './system.js';

const SEG = 16 * 1024 * 1024;

export interface RpoOptions {
  /** A connected client on the source's server (the commits run on it). */
  pg: { query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };
  /** ListWal of the source over the agent's credentials. */
  listWal(req: v1.ListWalRequest): Promise<v1.ListWalResponse__Output>;
  source: v1.SourceRef;
  commits: number;
  /** Pause between commits, so each is measured alone. */
  gapMs: number;
  pollMs: number;
  /** Give up on one commit after this long (counted as a failure, not a sample). */
  timeoutMs: number;
  /** The table to insert into (created if missing). */
  table?: string;
}

export interface RpoReport {
  commits: number;
  samplesMs: LatencySummary;
  timeouts: number;
  targetP99Ms: number;
  metTarget: boolean;
}

function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

function segmentOf(tli: number, lsn: bigint): { name: string; start: bigint } {
  const segNo = lsn / BigInt(SEG);
  const per = 0x1_0000_0000n / BigInt(SEG);
  const hex = (n: bigint | number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return { name: `${hex(tli)}${hex(segNo / per)}${hex(segNo % per)}`, start: segNo * BigInt(SEG) };
}

/** An AgentService client with the enrolled agent's credentials (STATE/ca.pem, agent.pem, agent.key), and its ListWal. */
export async function connectAgentWal(grpc: string, stateDir: string): Promise<{ client: v1.AgentServiceClient; listWal: RpoOptions['listWal'] }> {
  const creds = channelCredentials({
    caPem: await readFile(join(stateDir, 'ca.pem'), 'utf8'),
    certPem: await readFile(join(stateDir, 'agent.pem'), 'utf8'),
    keyPem: await readFile(join(stateDir, 'agent.key'), 'utf8'),
  });
  const client = new (loadProtocol().AgentService)(grpc, creds, clientChannelOptions()) as unknown as v1.AgentServiceClient;
  const listWal: RpoOptions['listWal'] = (req) =>
    new Promise((resolve, reject) => client.listWal(req, { deadline: new Date(Date.now() + 10_000) }, (err, res) => (err ? reject(err) : resolve(res!))));
  return { client, listWal };
}

/** Polls ListWal until the WAL up to `lsn` is listed durable (true), or until o.timeoutMs after `since` (false). */
async function walDurableThrough(o: Pick<RpoOptions, 'listWal' | 'source' | 'timeoutMs' | 'pollMs'>, tli: number, lsn: bigint, since: number): Promise<boolean> {
  const seg = segmentOf(tli, lsn - 1n);
  for (;;) {
    const page = await o.listWal({ source: o.source, fromFileName: seg.name, limit: 2 });
    const f = page.files.find((x) => x.fileName === seg.name);
    // Durable through lsn: the segment recorded that far, or complete, or a later segment exists (it was sealed).
    if ((f && (f.complete || seg.start + BigInt(f.size) >= lsn)) || page.files.some((x) => x.fileName.length === 24 && x.fileName > seg.name)) return true;
    if (performance.now() - since > o.timeoutMs) return false;
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}

/**
 * Waits until the agent's WAL stream has made everything PostgreSQL wrote so
 * far durable (a benchmark's data load leaves a backlog the stream is still
 * uploading); false after `timeoutMs`.
 */
export async function waitWalCaughtUp(o: Pick<RpoOptions, 'pg' | 'listWal' | 'source'>, timeoutMs: number): Promise<boolean> {
  const tli = Number((await o.pg.query('SELECT timeline_id AS t FROM pg_control_checkpoint()')).rows[0]!.t);
  const lsn = parseLsn(String((await o.pg.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l));
  return walDurableThrough({ ...o, timeoutMs, pollMs: 100 }, tli, lsn, performance.now());
}

/** Commits `commits` rows one at a time; per commit, ms from the commit's return to the coordinator listing its WAL. */
export async function measureRpo(o: RpoOptions): Promise<RpoReport> {
  const table = o.table ?? 'pbk_rpo_bench';
  await o.pg.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), pad text)`);
  const tli = Number((await o.pg.query('SELECT timeline_id AS t FROM pg_control_checkpoint()')).rows[0]!.t);
  const samples: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < o.commits; i++) {
    await o.pg.query(`INSERT INTO ${table} (pad) VALUES ($1)`, [`commit ${i}`]);
    const t0 = performance.now();
    const lsn = parseLsn(String((await o.pg.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l));
    if (await walDurableThrough(o, tli, lsn, t0)) samples.push(performance.now() - t0);
    else timeouts++;
    await new Promise((r) => setTimeout(r, o.gapMs));
  }
  const s = summarize(samples.map((x) => Math.round(x * 10) / 10));
  return { commits: o.commits, samplesMs: s, timeouts, targetP99Ms: 1000, metTarget: timeouts === 0 && s.p99 !== null && s.p99 < 1000 };
}

export interface WalSystem {
  pg: PgCluster;
  /** The coordinator's data directory. */
  data: string;
  grpc: string;
  coord: LineProcess;
  agent: LineProcess;
  /** AgentService over the agent's own credentials. */
  client: v1.AgentServiceClient;
  listWal: RpoOptions['listWal'];
  stop(): Promise<void>;
}

/**
 * The real system with one PostgreSQL source streaming WAL, in `work`: a
 * scratch cluster (fsync on), `pbk-coordinator init` + `serve` (coordinator.json
 * amended with `coordinatorConfig`), a token piped into `pbk-agent enroll`, and
 * `pbk-agent run` (WAL streaming on, no scheduled backups); resolves once the
 * WAL run is open. `stop()` ends all of it.
 */
export async function startWalSystem(work: string, coordinatorConfig: Record<string, unknown> = {}): Promise<WalSystem> {
  let pg: PgCluster | undefined;
  let coord: LineProcess | undefined;
  let agent: LineProcess | undefined;
  let client: v1.AgentServiceClient | undefined;
  const stop = async (): Promise<void> => {
    client?.close();
    await agent?.stop().catch(() => undefined);
    await coord?.stop().catch(() => undefined);
    await pg?.cleanup().catch(() => undefined);
    await stopAllPgClusters();
    killAllChildren();
  };
  try {
    process.stderr.write('starting PostgreSQL (fsync on), coordinator, agent...\n');
    pg = await startPgCluster({ fast: false });
    const data = join(work, 'coord');
    const init = await runToEnd(COORDINATOR_MAIN, ['init', '--data', data]);
    if (init.code !== 0) throw new Error(`coordinator init: ${init.stderr}`);
    const file = join(data, 'coordinator.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), ...coordinatorConfig }), { mode: 0o600 });
    coord = new LineProcess('coordinator', COORDINATOR_MAIN, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { logFile: join(work, 'coordinator.log') });
    const ready = JSON.parse((await coord.waitFor((l) => l.text.includes('"event":"ready"'), { what: 'ready' })).text) as { grpc: string };
    const token = await runToEnd(COORDINATOR_MAIN, ['token', '--data', data, '--host', 'db-1']);
    const state = join(work, 'state');
    const enrolled = await runToEnd(AGENT_MAIN, ['enroll', '--coordinator', ready.grpc, '--token', '-', '--state', state], { input: token.stdout.trim() });
    if (enrolled.code !== 0) throw new Error(`enroll: ${enrolled.stderr}`);
    const config = join(work, 'agent.yaml');
    writeFileSync(
      config,
      [
        `state: ${state}`,
        `localSocket: ${join(work, 'agent.sock')}`,
        'sources:',
        '  - name: main',
        '    kind: postgres',
        '    host: 127.0.0.1',
        `    port: ${pg.port}`,
        '    user: postgres',
        '    baseSchedule: null',
        '    logicalSchedule: null',
        '    wal:',
        `      spoolDir: ${join(work, 'spool')}`,
        '',
      ].join('\n'),
    );
    agent = new LineProcess('agent', AGENT_MAIN, ['run', '--config', config], { logFile: join(work, 'agent.log') });
    await agent.waitFor((l) => l.text.includes('WAL run open'), { what: 'the WAL run', timeoutMs: 60_000 });

    const wal = await connectAgentWal(ready.grpc, state);
    client = wal.client;
    return { pg, data, grpc: ready.grpc, coord, agent, client, listWal: wal.listWal, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      commits: { type: 'string', default: '100' },
      'gap-ms': { type: 'string', default: '100' },
      'poll-ms': { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!appsBuilt()) return 2;
  const work = mkdtempSync(join(tmpdir(), 'pbk-rpo-'));
  let sys: WalSystem | undefined;
  try {
    sys = await startWalSystem(work);
    const pgClient = await sys.pg.client();
    try {
      const report = await measureRpo({
        pg: pgClient,
        listWal: sys.listWal,
        source: { host: 'db-1', kind: 'SOURCE_KIND_POSTGRES', name: 'main' },
        commits: Number(values.commits),
        gapMs: Number(values['gap-ms']),
        pollMs: Number(values['poll-ms']),
        timeoutMs: 10_000,
      });
      // Each durable upload closes a pack: the repository cost of a low RPO (see docs/postgres.md).
      const packs = readdirSync(join(sys.data, 'repository', 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
      const out = { bench: 'postgres-rpo', packFilesAfter: packs, what: 'ms from a commit returning to the coordinator listing its WAL as durable', pollMs: Number(values['poll-ms']), gapMs: Number(values['gap-ms']), fsync: true, ...report };
      process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
      return report.timeouts === 0 ? 0 : 1;
    } finally {
      await pgClient.end();
    }
  } finally {
    await sys?.stop();
    if (values.keep) process.stderr.write(`kept ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

runAsScript(import.meta.url, 'postgres-rpo', () => main());
