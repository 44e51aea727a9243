/**
 * A timeline switch under WAL streaming: the agent streams from a standby
 * (pg_basebackup -R of a real primary), the standby is promoted, and
 * pg_receivewal follows it onto timeline 2. The timeline history file is
 * stored, the old timeline's last segment is kept (as `.partial`, like
 * PostgreSQL's own archiver does), and the new timeline streams with no hole.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, PgCluster, pgTempDir, runAsPg, stopAllPgClusters } from '@pbk/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { silentLogger } from '../src/logger.js';
import { fetchWal } from '../src/postgres/wal/fetch.js';
import { parseLsn, segmentName } from '../src/postgres/wal/names.js';
import { WalStreamer } from '../src/postgres/wal/streamer.js';
import { assertNoHole, commitRow, listAll, SEG_SIZE, setupWalEnv, SOURCE, waitUntil, type WalEnv } from './wal-harness.js';

let env: WalEnv;
let standby: PgCluster | undefined;
let streamer: WalStreamer | undefined;

beforeAll(async () => {
  env = await setupWalEnv();
  await env.pg.query('CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL)');
  const base = await pgTempDir('pbk-standby-');
  const dataDir = join(base, 'data');
  await runAsPg('pg_basebackup', ['-D', dataDir, '-R', '-X', 'stream', '-h', '127.0.0.1', '-p', String(env.pg.port), '-U', 'postgres']);
  const port = await freePort();
  await appendFile(join(dataDir, 'postgresql.conf'), `\nport = ${port}\nunix_socket_directories = '${base}'\n`);
  standby = new PgCluster(base, dataDir, port);
  await standby.start();
}, 120_000);

afterAll(async () => {
  await streamer?.stop().catch(() => undefined);
  await standby?.cleanup();
  await env?.cleanup();
  await stopAllPgClusters();
}, 60_000);

it('follows a promotion onto the new timeline: history file stored, no hole on timeline 2', async () => {
  const config = env.config();
  streamer = new WalStreamer({ config: { ...config, connection: { ...config.connection, port: standby!.port } }, host: 'db-1', rpc: env.rpc, clock: systemClock, log: silentLogger(), backoff: { initialMs: 200, maxMs: 1000 } });
  await streamer.start();
  const before = await commitRow(env.pg, 'on the primary, timeline 1');
  await streamer.waitDurable(before, 20_000);

  await env.pg.stop('fast');
  await runAsPg('pg_ctl', ['-D', standby!.dataDir, '-w', 'promote']);
  const history = await waitUntil('history file on the new primary', async () => readFile(join(standby!.dataDir, 'pg_wal', '00000002.history')), 20_000, 200);
  const switchLsn = parseLsn(history.toString().split('\n')[0]!.split('\t')[1]!);

  const after = await commitRow(standby!, 'on the promoted standby, timeline 2');
  await streamer.waitDurable(after, 30_000);
  const files = await waitUntil('history stored', async () => {
    const all = await listAll(env.rpc);
    return all.some((f) => f.fileName === '00000002.history') ? all : undefined;
  });
  expect((await fetchWal(env.rpc, SOURCE, '00000002.history')).data.equals(history)).toBe(true);
  // The old timeline's last (cut-off) segment is kept under its .partial name.
  const oldSeg = segmentName(1, switchLsn, SEG_SIZE);
  const kept = await waitUntil('old timeline segment kept', async () => (await listAll(env.rpc)).find((f) => f.fileName === `${oldSeg}.partial` && f.complete));
  // Its valid part (up to the switch) is what timeline 2's first segment starts with.
  const keptBytes = (await fetchWal(env.rpc, SOURCE, kept.fileName)).data;
  const tl2 = await readFile(join(standby!.dataDir, 'pg_wal', segmentName(2, switchLsn, SEG_SIZE)));
  const upto = Number(switchLsn % BigInt(SEG_SIZE));
  expect(keptBytes.subarray(0, upto).equals(tl2.subarray(0, upto))).toBe(true);
  expect(files.map((f) => f.fileName)).toContain(segmentName(2, switchLsn, SEG_SIZE));
  await assertNoHole({ ...env, pg: standby! }, segmentName(2, switchLsn, SEG_SIZE), after);
  expect(streamer.health().facts.receivewal_state).toBe('running');
}, 120_000);
