/**
 * WAL through the real daemon: `pbk-agent run` (a child process) with one
 * postgres source streams WAL to the BUILT coordinator, and the PostgreSQL
 * server itself archives through `pbk-agent wal-push` (archive_command, run
 * by the server as the postgres OS user, over the daemon's local socket).
 * The agent process is SIGKILLed mid-stream and started again: no hole, and
 * archive_command, which failed while the agent was gone, catches up. Then a
 * point-in-time recovery from a base backup taken before the gap, replaying
 * through `pbk-agent wal-fetch` (restore_command, as the postgres user), has
 * every committed row.
 */
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, PgCluster, pgTempDir, run, runAsPg, stopAllPgClusters } from '@pbk/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { segmentName } from '../src/postgres/wal/names.js';
import { restoreCommandSetting } from '../src/postgres/wal/restore-command.js';
import { AGENT, assertNoHole, commitRow, currentTimeline, SEG_SIZE, setupWalEnv, start, storedThrough, waitUntil, type Proc, type WalEnv } from './wal-harness.js';

let env: WalEnv;
let agent: Proc | undefined;
let sock = '';
let configFile = '';
let firstSegment = '';
let baseBackup = '';
let restored: PgCluster | undefined;
let secondCopy = '';

async function startAgent(): Promise<void> {
  agent = start(AGENT, ['run', '--config', configFile]);
  await agent.waitFor((l) => l.includes('WAL run open'), 60_000);
}

async function switchSegment(): Promise<string> {
  await commitRow(env.pg, 'before switch');
  const [r] = await env.pg.query<{ name: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS name');
  return r!.name;
}

async function archiver(): Promise<{ archived: number; failed: number; last: string | null }> {
  const [r] = await env.pg.query<{ archived_count: string; failed_count: string; last_archived_wal: string | null }>('SELECT archived_count, failed_count, last_archived_wal FROM pg_stat_archiver');
  return { archived: Number(r!.archived_count), failed: Number(r!.failed_count), last: r!.last_archived_wal };
}

let sockDir = '';

beforeAll(async () => {
  sockDir = await pgTempDir('pbk-sock-');
  sock = join(sockDir, 'agent.sock');
  env = await setupWalEnv({
    archive_mode: 'on',
    // What an operator writes for the fallback (restore-command.ts archiveCommandFor, with node in front for the test build).
    archive_command: `'${process.execPath} ${AGENT} wal-push --socket ${sock} --source main %p'`,
    archive_timeout: 0,
  });
  await env.pg.query('CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL)');
  configFile = join(env.base, 'agent.yaml');
  await writeFile(
    configFile,
    [
      `state: ${join(env.base, 'state')}`,
      `coordinator: ${env.grpcAddr}`,
      `localSocket: ${sock}`,
      'heartbeatIntervalMs: 1000',
      'sources:',
      '  - name: main',
      '    kind: postgres',
      '    host: 127.0.0.1',
      `    port: ${env.pg.port}`,
      '    user: postgres',
      '    baseSchedule: null',
      '    logicalSchedule: null',
      '    wal:',
      `      spoolDir: ${join(env.base, 'spool')}`,
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await restored?.cleanup();
  if (baseBackup) await rm(baseBackup, { recursive: true, force: true });
  if (secondCopy) await rm(secondCopy, { recursive: true, force: true });
  if (sockDir) await rm(sockDir, { recursive: true, force: true });
  if (agent && agent.child.exitCode === null) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  await env?.cleanup();
  await stopAllPgClusters();
}, 60_000);

it('the daemon streams a committed row to the coordinator', async () => {
  await startAgent();
  const [slot] = await waitUntil('the slot', async () => {
    const rows = await env.pg.query<{ restart_lsn: string | null }>(`SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'pbk_main' AND restart_lsn IS NOT NULL`);
    return rows.length > 0 ? rows : undefined;
  });
  const tli = await currentTimeline(env.pg);
  const { parseLsn } = await import('../src/postgres/wal/names.js');
  firstSegment = segmentName(tli, parseLsn(slot!.restart_lsn!), SEG_SIZE);
  const lsn = await commitRow(env.pg, 'via the daemon');
  await waitUntil('WAL durable', async () => ((await storedThrough(env.rpc, tli, lsn)) ? true : undefined), 10_000, 20);
  await assertNoHole(env, firstSegment, lsn);
  // The slot's retained WAL and the streaming lag reach Prometheus through the heartbeat.
  const labels = '{host="db-1",kind="postgres",source="main"}';
  const metrics = await waitUntil(
    'WAL gauges in /metrics',
    async () => {
      const text = await (await fetch(`http://${env.httpAddr}/metrics`)).text();
      return text.includes(`pbk_wal_slot_retained_bytes${labels}`) ? text : undefined;
    },
    15_000,
  );
  expect(metrics).toMatch(new RegExp(`pbk_wal_lag_bytes${labels.replace(/[{}]/g, '\\$&')} \\d+`));
  expect(metrics).toContain(`pbk_source_state{host="db-1",kind="postgres",source="main",state="ok"} 1`);
  expect(metrics).toMatch(/pbk_agent_heartbeat_age_seconds\{host="db-1"\} \d/);
  // The starting point of the recovery test below: WAL from here on comes only from the coordinator.
  baseBackup = await pgTempDir('pbk-base-');
  await runAsPg('pg_basebackup', ['-D', join(baseBackup, 'data'), '-X', 'none', '-c', 'fast', '-h', '127.0.0.1', '-p', String(env.pg.port), '-U', 'postgres']);
}, 90_000);

it('archive_command (pbk-agent wal-push as the postgres user) archives the segments streaming already stored', async () => {
  const done = await switchSegment();
  const a = await waitUntil('archived', async () => {
    const s = await archiver();
    return s.last === done ? s : undefined;
  }, 30_000, 200);
  expect(a.failed).toBe(0);
  const log = agent!.lines.find((l) => l.includes('wal-push stored') && l.includes(done));
  expect(log, agent!.lines.slice(-20).join('\n')).toBeDefined();
}, 60_000);

it("a pg_receivewal that outlived a killed agent is ended by the next one, which takes the slot over", async () => {
  const [before] = await env.pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_replication WHERE application_name = 'pbk_wal_pbk_main'`);
  expect(before).toBeDefined();
  agent!.child.kill('SIGKILL');
  await agent!.exited;
  // Its child is still streaming (nothing has made it write to its dead stderr yet).
  expect(await env.pg.query(`SELECT 1 FROM pg_stat_replication WHERE pid = $1`, [before!.pid])).toHaveLength(1);
  await startAgent();
  await agent!.waitFor((l) => l.includes('ended a pg_receivewal left running by an earlier agent process'), 30_000);
  const rows = await waitUntil('our own pg_receivewal streaming', async () => {
    const r = await env.pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_replication WHERE application_name = 'pbk_wal_pbk_main'`);
    return r.length === 1 && r[0]!.pid !== before!.pid ? r : undefined;
  }, 20_000, 200);
  expect(rows).toHaveLength(1);
  const tli = await currentTimeline(env.pg);
  const lsn = await commitRow(env.pg, 'after the takeover');
  await waitUntil('WAL durable after the takeover', async () => ((await storedThrough(env.rpc, tli, lsn)) ? true : undefined), 30_000, 50);
}, 90_000);

it('the agent process killed mid-stream and started again: no hole; archive_command catches up', async () => {
  agent!.child.kill('SIGKILL');
  await agent!.exited;
  for (let i = 0; i < 10; i++) await commitRow(env.pg, `agent dead ${i}`);
  const whileDead = await switchSegment();
  // The server cannot archive while the agent is gone: it keeps the segment and retries.
  await waitUntil('archive_command failing', async () => ((await archiver()).failed > 0 ? true : undefined), 30_000, 200);
  await startAgent();
  await waitUntil('one streaming pg_receivewal', async () => {
    const rows = await env.pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_replication WHERE application_name = 'pbk_wal_pbk_main'`);
    return rows.length === 1 ? true : undefined;
  }, 20_000, 200);
  const tli = await currentTimeline(env.pg);
  const lsn = await commitRow(env.pg, 'agent back');
  await waitUntil('WAL durable after the restart', async () => ((await storedThrough(env.rpc, tli, lsn)) ? true : undefined), 30_000, 50);
  const r = await assertNoHole(env, firstSegment, lsn);
  expect(r.complete).toBeGreaterThanOrEqual(2);
  await waitUntil('archiver caught up', async () => ((await archiver()).last === whileDead ? true : undefined), 90_000, 500);
}, 180_000);

it('the coordinator killed mid-stream and restarted: the daemon spools, then catches up with no hole', async () => {
  await env.stopCoordinator();
  for (let i = 0; i < 10; i++) await commitRow(env.pg, `coordinator dead ${i}`);
  await switchSegment();
  await commitRow(env.pg, 'coordinator still dead');
  await new Promise((r) => setTimeout(r, 1500)); // the daemon tries, fails, keeps the WAL in its spool
  await env.startCoordinator();
  const tli = await currentTimeline(env.pg);
  const lsn = await commitRow(env.pg, 'coordinator back');
  await waitUntil('WAL durable after the coordinator restart', async () => ((await storedThrough(env.rpc, tli, lsn)) ? true : undefined), 60_000, 100);
  await assertNoHole(env, firstSegment, lsn);
}, 120_000);

it('point-in-time recovery across both gaps replays every committed row through wal-fetch', async () => {
  // Everything committed so far is in finished segments once this switch is stored.
  const [{ n }] = (await env.pg.query<{ n: string }>('SELECT count(*)::text AS n FROM t')) as [{ n: string }];
  const last = await switchSegment();
  const committed = Number(n) + 1; // switchSegment commits one more row first
  await waitUntil('the last segment sealed on the coordinator', async () => ((await env.rpc.listWal({ source: { host: 'db-1', kind: 'SOURCE_KIND_POSTGRES', name: 'main' }, fromFileName: last, limit: 1 })).files[0]?.complete ? true : undefined), 30_000, 100);

  const dataDir = join(baseBackup, 'data');
  // A second copy of the base backup for the corrupted-archive recovery below (cp -a keeps postgres's ownership).
  secondCopy = await pgTempDir('pbk-base2-');
  await run('cp', ['-a', dataDir, join(secondCopy, 'data')]);
  const port = await freePort();
  const restoreCommand = restoreCommandSetting({ socketPath: sock, host: 'db-1', source: 'main', agentBin: [process.execPath, AGENT] });
  await appendFile(join(dataDir, 'postgresql.conf'), `\nport = ${port}\nunix_socket_directories = '${baseBackup}'\narchive_mode = off\n${restoreCommand}\n`);
  await writeFile(join(dataDir, 'recovery.signal'), ''); // root-owned is fine: the server only checks it exists and removes it (its directory is postgres's)
  restored = new PgCluster(baseBackup, dataDir, port);
  await restored.start();
  // No target: recovery replays to the end of the archive (wal-fetch exits 1 there) and promotes.
  await waitUntil('recovery finished', async () => ((await restored!.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r === false ? true : undefined), 60_000, 250);
  const [row] = await restored.query<{ n: string; agentDead: string; coordinatorDead: string }>(
    `SELECT count(*)::text AS n, count(*) FILTER (WHERE v LIKE 'agent dead %')::text AS "agentDead", count(*) FILTER (WHERE v LIKE 'coordinator dead %')::text AS "coordinatorDead" FROM t`,
  );
  expect(Number(row!.n)).toBe(committed);
  expect(Number(row!.agentDead)).toBe(10);
  expect(Number(row!.coordinatorDead)).toBe(10);
}, 120_000);

it('a corrupted WAL blob stops recovery with an error naming the file and the blob (never ends it early)', async () => {
  await restored?.stop('fast');
  // Damage every pack every 128 bytes (compressed WAL pieces and their packs can be small): every sealed piece is hit (AES-GCM refuses any change).
  const packs: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\/data\/[0-9a-f]{2}\/[0-9a-f]+$/.test(p)) packs.push(p);
    }
  };
  await walk(env.coordData);
  for (const p of packs) {
    const bytes = await readFile(p);
    for (let off = 0; off < bytes.length; off += 128) bytes[off]! ^= 0xa5;
    await writeFile(p, bytes);
  }
  const dataDir = join(secondCopy, 'data');
  const port = await freePort();
  const restoreCommand = restoreCommandSetting({ socketPath: sock, host: 'db-1', source: 'main', agentBin: [process.execPath, AGENT] });
  await appendFile(join(dataDir, 'postgresql.conf'), `\nport = ${port}\nunix_socket_directories = '${secondCopy}'\narchive_mode = off\n${restoreCommand}\n`);
  await writeFile(join(dataDir, 'recovery.signal'), '');
  const damaged = new PgCluster(secondCopy, dataDir, port);
  const started = await damaged.start().then(() => true, () => false);
  const log = await readFile(join(secondCopy, 'server.log'), 'utf8');
  expect(started, log.slice(-3000)).toBe(false);
  await damaged.stop('immediate').catch(() => undefined);
  expect(log).toMatch(/WAL file [0-9A-F]{24} is damaged: blob [0-9a-f]{64}/);
  expect(log).toMatch(/FATAL: +could not restore file "[0-9A-F]{24}" from archive/);
  expect(log).not.toMatch(/database system is ready to accept connections/);
}, 120_000);

