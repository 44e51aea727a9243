// The Redis benchmark: a real redis-server with N keys, dumped through the
// real system (pbk-agent -> gRPC over mutual TLS -> pbk-coordinator).
//
//   npm run bench:redis -- --keys 1000000 --json
//   bash scripts/bench.sh redis [same args]       (builds first)
//
// In one temp dir: a redis-server (testkit, free port), filled with N string
// keys (`key:<n>` -> 64 random hex chars) through `redis-cli --pipe`;
// `pbk-coordinator init` + `serve` (ports 0), a token piped into `pbk-agent
// enroll`, `pbk-agent run` with one redis source (schedule off). Then:
//   - bgsave_s: a plain BGSAVE on the same data, timed by this process from
//     the request to rdb_bgsave_in_progress:0 (polled every 10 ms): the dump
//     alone, the physical limit;
//   - first backup: StartBackup(wait=true); durable_s is from the agent's
//     "BGSAVE requested" log line to its "backup committed" line (committed
//     = every blob durable in the repository and the snapshot written;
//     the agent reads the dump while Redis writes it, label streamed);
//     first_bytes = the sealed bytes the run uploaded (= stored);
//   - 1 % of the keys (random ones) get new values, second backup:
//     second_bytes the same way;
//   - restore_s: `Restore` with options.redis.to_file, request to RestoreDone.
// overhead_ratio = durable_s / the faster of two plain BGSAVEs (before and
// after the pbk runs: the load of a shared machine moves); target: at most 1.5.
//
// stdout: with --json exactly one JSON object; otherwise a summary and the
// object. Progress on stderr. Exit 1 when a phase failed, 2 on bad usage.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';
import { startRedis, stopAllRedis, type RedisInstance } from '@pbk/testkit';
import { AGENT_MAIN, COORDINATOR_MAIN, LineProcess, appsBuilt, killAllChildren, runToEnd } from './system.js';

const run = promisify(execFile);
const HOST = 'bench-redis';
const SOURCE = 'redis';

export const USAGE = `usage: node bench/dist/redis-bench.js [options]
  --keys N        keys to fill (default 1000000)
  --change PCT    share of keys given new values before the second dump (default 1)
  --keep          keep the temp dir (logs, repository) and print where it is
  --json          print only the JSON object on stdout`;

const log = (msg: string): void => void process.stderr.write(`[bench:redis] ${msg}\n`);

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

async function info(port: number, section: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await cli(port, 'INFO', section)).split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** SETs for keys [from, to) in the Redis protocol, streamed into `redis-cli --pipe` (the mass-insertion path). */
async function fill(port: number, keys: Iterable<number>): Promise<number> {
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  let n = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    if (!child.stdin.write(batch.join(''))) await new Promise((r) => child.stdin.once('drain', r));
    batch = [];
  };
  for (const k of keys) {
    const key = `key:${k}`;
    const value = randomBytes(32).toString('hex');
    batch.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
    n++;
    if (batch.length >= 10_000) await flush();
  }
  await flush();
  child.stdin.end();
  const code = await done;
  if (code !== 0 || !/errors: 0/.test(out)) throw new Error(`redis-cli --pipe failed (${code}): ${out.trim()}`);
  return n;
}

/** One RESP connection for inline commands (no process per poll, so the timing is the dump's, not redis-cli's). */
async function respClient(port: number): Promise<{ send(cmd: string): Promise<string>; close(): void }> {
  const sock = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let buf = Buffer.alloc(0);
  let waiting: ((reply: string) => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    const nl = buf.indexOf('\r\n');
    if (nl < 0 || !waiting) return;
    const head = buf.subarray(0, nl).toString();
    if (head.startsWith('$')) {
      const len = Number(head.slice(1));
      if (buf.length < nl + 2 + len + 2) return;
      const body = buf.subarray(nl + 2, nl + 2 + len).toString();
      buf = buf.subarray(nl + 2 + len + 2);
      const w = waiting;
      waiting = undefined;
      w(body);
    } else {
      buf = buf.subarray(nl + 2);
      const w = waiting;
      waiting = undefined;
      w(head);
    }
  });
  return {
    send: (cmd) =>
      new Promise((resolve) => {
        waiting = resolve;
        sock.write(`${cmd}\r\n`);
      }),
    close: () => sock.destroy(),
  };
}

/** A plain BGSAVE timed from the request to rdb_bgsave_in_progress:0 (polled every 10 ms on one connection). */
async function timeBgsave(port: number): Promise<number> {
  const c = await respClient(port);
  try {
    const t0 = performance.now();
    const reply = await c.send('BGSAVE');
    if (!/started/.test(reply)) throw new Error(`BGSAVE: ${reply.trim()}`);
    for (;;) {
      const text = await c.send('INFO persistence');
      const p = new Map(text.split('\r\n').map((l) => l.split(':') as [string, string]));
      if (p.get('rdb_bgsave_in_progress') === '0') {
        if (p.get('rdb_last_bgsave_status') !== 'ok') throw new Error('the BGSAVE failed');
        return (performance.now() - t0) / 1000;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    c.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { keys: { type: 'string' }, change: { type: 'string' }, keep: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const keys = Number(values.keys ?? 1_000_000);
  const changePct = Number(values.change ?? 1);
  if (!Number.isSafeInteger(keys) || keys < 1 || !(changePct > 0 && changePct <= 100)) {
    process.stderr.write(`--keys must be a positive integer and --change a percentage\n${USAGE}\n`);
    return 2;
  }
  if (!appsBuilt()) return 1;
  const work = mkdtempSync(join(tmpdir(), 'pbk-bench-redis-'));
  const report: Record<string, unknown> = { keys, change_percent: changePct };
  let redis: RedisInstance | undefined;
  let coordinator: LineProcess | undefined;
  let agent: LineProcess | undefined;
  let client: v1.OperatorServiceClient | undefined;
  const onSignal = (): void => {
    killAllChildren();
    void stopAllRedis().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await mkdir(join(work, 'redis'));
    redis = await startRedis({ dir: join(work, 'redis') });
    const port = redis.port;
    let t = performance.now();
    await fill(port, (function* () {
      for (let i = 0; i < keys; i++) yield i;
    })());
    log(`filled ${keys} keys in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    report.used_memory = Number((await info(port, 'memory')).get('used_memory'));

    report.bgsave_s = await timeBgsave(port);
    report.rdb_bytes = (await stat(join(redis.dir, 'dump.rdb'))).size;
    log(`plain BGSAVE: ${(report.bgsave_s as number).toFixed(2)} s, RDB ${report.rdb_bytes} bytes`);

    const coordDir = join(work, 'coord');
    const init = await runToEnd(COORDINATOR_MAIN, ['init', '--data', coordDir]);
    if (init.code !== 0) throw new Error(`pbk-coordinator init: ${init.stderr}`);
    coordinator = new LineProcess('coordinator', COORDINATOR_MAIN, ['serve', '--data', coordDir, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { logFile: join(work, 'coordinator.log') });
    const ready = JSON.parse((await coordinator.waitFor((l) => l.text.includes('"event":"ready"'), { timeoutMs: 60_000 })).text) as { grpc: string };
    const token = await runToEnd(COORDINATOR_MAIN, ['token', '--data', coordDir, '--host', HOST]);
    const enroll = await runToEnd(AGENT_MAIN, ['enroll', '--coordinator', ready.grpc, '--token', '-', '--state', join(work, 'state')], { input: `${token.stdout.trim()}\n` });
    if (enroll.code !== 0) throw new Error(`pbk-agent enroll: ${enroll.stderr || enroll.stdout}`);
    await writeFile(
      join(work, 'agent.yaml'),
      `state: ${join(work, 'state')}\nsources:\n  - name: ${SOURCE}\n    kind: redis\n    address: ${redis.address}\n    schedule: null\n    pollIntervalMs: 10\n`,
    );
    agent = new LineProcess('agent', AGENT_MAIN, ['run', '--config', join(work, 'agent.yaml')], { logFile: join(work, 'agent.log') });
    await agent.waitFor((l) => l.text.includes('"agent running"'), { timeoutMs: 60_000 });

    const { OperatorService } = loadProtocol();
    const admin = join(coordDir, 'admin');
    client = new OperatorService(
      ready.grpc,
      channelCredentials({ caPem: await readFile(join(admin, 'ca.pem'), 'utf8'), certPem: await readFile(join(admin, 'client.pem'), 'utf8'), keyPem: await readFile(join(admin, 'client.key'), 'utf8') }),
      clientChannelOptions(),
    ) as unknown as v1.OperatorServiceClient;
    const op = client;

    const backup = async (): Promise<{ snap: v1.SnapshotInfo__Output; durableS: number; agentBgsaveS: number }> => {
      const from = agent!.count;
      for (let attempt = 0; ; attempt++) {
        try {
          const snap = await new Promise<v1.SnapshotInfo__Output>((resolve, reject) => {
            const call = op.startBackup({ source: { host: HOST, name: SOURCE, kind: 'SOURCE_KIND_REDIS' }, mode: 'BACKUP_MODE_FULL', wait: true }, { deadline: new Date(Date.now() + 3_600_000) });
            let s: v1.SnapshotInfo__Output | undefined;
            call.on('data', (u: v1.StartBackupUpdate__Output) => (s = u.snapshot ?? s));
            call.on('error', reject);
            call.on('end', () => (s ? resolve(s) : reject(new Error('no snapshot'))));
          });
          const asked = await agent!.waitFor((l) => l.text.includes('"BGSAVE requested"'), { from });
          const dumped = await agent!.waitFor((l) => l.text.includes('"BGSAVE finished"'), { from });
          const committed = await agent!.waitFor((l) => l.text.includes('"backup committed"'), { from });
          const at = (l: { text: string }): number => Date.parse((JSON.parse(l.text) as { time: string }).time);
          return { snap, durableS: (at(committed) - at(asked)) / 1000, agentBgsaveS: (at(dumped) - at(asked)) / 1000 };
        } catch (err) {
          if ((err as { code?: number }).code === 14 && attempt < 100) {
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
          throw err;
        }
      }
    };

    t = performance.now();
    const first = await backup();
    report.first_wall_s = (performance.now() - t) / 1000;
    report.durable_s = first.durableS;
    report.agent_bgsave_s = first.agentBgsaveS;
    report.first_bytes = Number(first.snap.stats?.uploadedBytes ?? 0);
    report.first_new_blobs = Number(first.snap.stats?.newBlobs ?? 0);
    report.streamed = first.snap.labels.streamed;
    log(`first dump durable in ${first.durableS.toFixed(2)} s (agent's BGSAVE ${first.agentBgsaveS.toFixed(2)} s), ${report.first_bytes} bytes stored`);

    const changed = Math.max(1, Math.round((keys * changePct) / 100));
    const picks = new Set<number>();
    while (picks.size < changed) picks.add(Math.floor(Math.random() * keys));
    await fill(port, picks);
    const second = await backup();
    report.second_durable_s = second.durableS;
    report.second_bytes = Number(second.snap.stats?.uploadedBytes ?? 0);
    report.second_new_blobs = Number(second.snap.stats?.newBlobs ?? 0);
    report.second_vs_first = (report.second_bytes as number) / Math.max(1, report.first_bytes as number);
    log(`second dump (${changed} keys changed) durable in ${second.durableS.toFixed(2)} s, ${report.second_bytes} bytes stored`);

    // A second plain BGSAVE after the pbk runs: the machine's load moves; the faster of the two is the limit compared against.
    report.bgsave_again_s = await timeBgsave(port);
    const limit = Math.min(report.bgsave_s as number, report.bgsave_again_s as number);
    report.overhead_ratio = first.durableS / limit;
    report.second_overhead_ratio = second.durableS / limit;
    log(`plain BGSAVE again: ${(report.bgsave_again_s as number).toFixed(2)} s; overhead ratio ${(report.overhead_ratio as number).toFixed(2)}`);

    const target = join(work, 'restored.rdb');
    t = performance.now();
    const done = await new Promise<v1.RestoreDone__Output>((resolve, reject) => {
      const call = op.restore({ source: { host: HOST, name: SOURCE, kind: 'SOURCE_KIND_REDIS' }, snapshotId: second.snap.id, redis: { toFile: target } }, { deadline: new Date(Date.now() + 3_600_000) });
      let d: v1.RestoreDone__Output | undefined;
      call.on('data', (u: v1.RestoreUpdate__Output) => (d = u.done ?? d));
      call.on('error', reject);
      call.on('end', () => (d ? resolve(d) : reject(new Error('no restore result'))));
    });
    report.restore_s = (performance.now() - t) / 1000;
    report.restored_bytes = Number(done.bytes);
    const restoredSize = (await stat(target)).size;
    if (restoredSize !== Number(second.snap.labels.rdb_bytes)) throw new Error(`restored ${restoredSize} bytes, the snapshot says ${second.snap.labels.rdb_bytes}`);
    log(`restore: ${(report.restore_s as number).toFixed(2)} s`);
    report.target_overhead_ratio_at_most = 1.5;
    report.target_met = (report.overhead_ratio as number) <= 1.5;
  } catch (err) {
    report.error = (err as Error).message;
  } finally {
    client?.close();
    await agent?.stop();
    await coordinator?.stop();
    await redis?.cleanup().catch(() => undefined);
    await stopAllRedis();
    killAllChildren();
    if (values.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.error === undefined ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
