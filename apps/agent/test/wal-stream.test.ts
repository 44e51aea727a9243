/**
 * WAL streaming end to end (docs/postgres.md, "WAL streaming"): a real
 * PostgreSQL 15 cluster, the real pg_receivewal supervised by WalStreamer,
 * the BUILT coordinator as a child process over mutual TLS, and the real
 * `pbk-agent wal-push` / `wal-fetch` programs talking to the local API socket
 * (the last run as the postgres OS user, as PostgreSQL would).
 *
 * "No hole" is checked at the byte level: every segment from the first one
 * streamed to the newest commit is on the coordinator, complete ones equal to
 * the server's own pg_wal file byte for byte, the growing one equal to its
 * prefix and reaching the commit. (Replaying that WAL in a PITR restore is
 * the PITR tests' part.)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pgOsIds, pgTempDir, run, stopAllPgClusters } from '@pbk/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { createLogger, silentLogger, type Logger } from '../src/logger.js';
import { startLocalApi, type LocalApi } from '../src/local-api/server.js';
import { fetchWal } from '../src/postgres/wal/fetch.js';
import { formatLsn, parseLsn, segmentName } from '../src/postgres/wal/names.js';
import { WalStreamer } from '../src/postgres/wal/streamer.js';
import { WAL_FETCH, WAL_FETCH_SH } from './procs.js';
import { AGENT, assertNoHole, commitRow, currentTimeline, listAll, runTo, SEG_SIZE, setupWalEnv, SOURCE, waitUntil, type WalEnv } from './wal-harness.js';

const log: Logger = process.env.PBK_TEST_LOG ? createLogger('debug') : silentLogger();
const FAST_BACKOFF = { initialMs: 200, maxMs: 1000 };

let env: WalEnv;
let streamer: WalStreamer | undefined;
let api: LocalApi | undefined;
let firstSegment = '';
let sockDir = '';

/** As in production: a REPLICATION role that is not a superuser (what the slot queries may use is limited to that). */
function newStreamer(overrides: Parameters<WalEnv['config']>[0] = {}): WalStreamer {
  const config = env.config(overrides);
  return new WalStreamer({ config: { ...config, connection: { ...config.connection, user: 'pbk_repl' } }, host: 'db-1', rpc: env.rpc, clock: systemClock, log, backoff: FAST_BACKOFF });
}

async function switchSegment(): Promise<string> {
  await commitRow(env.pg, 'before switch');
  const [r] = await env.pg.query<{ name: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS name');
  return r!.name;
}

beforeAll(async () => {
  env = await setupWalEnv();
  await env.pg.query('CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL)');
  await env.pg.query('CREATE ROLE pbk_repl LOGIN REPLICATION');
}, 120_000);

afterAll(async () => {
  await streamer?.stop().catch(() => undefined);
  await api?.close().catch(() => undefined);
  if (sockDir) await rm(sockDir, { recursive: true, force: true });
  await env?.cleanup();
  await stopAllPgClusters();
}, 60_000);

describe('WAL streaming', () => {
  it('creates the slot and makes a committed row durable on the coordinator within seconds', async () => {
    streamer = newStreamer();
    await streamer.start();
    const [slot] = await env.pg.query<{ restart_lsn: string }>(`SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'pbk_main'`);
    expect(slot, 'the slot was created').toBeDefined();
    firstSegment = segmentName(await currentTimeline(env.pg), parseLsn(slot!.restart_lsn), SEG_SIZE);

    const lsn = await commitRow(env.pg, 'first');
    const t0 = Date.now();
    await streamer.waitDurable(lsn, 10_000);
    const ms = Date.now() - t0;
    log.info({ ms, lsn: formatLsn(lsn) }, 'first commit durable');
    expect(ms).toBeLessThan(10_000);
    const files = await listAll(env.rpc);
    const seg = segmentName(1, lsn - 1n, SEG_SIZE);
    expect(files.find((f) => f.fileName === seg)).toMatchObject({ complete: false });
    await assertNoHole(env, firstSegment, lsn);

    const h = streamer.health();
    expect(h.state, h.detail).toBe('ok');
    expect(h.facts).toMatchObject({ receivewal_state: 'running', wal_slot: 'pbk_main' });
    expect(Number(h.facts.wal_retained_bytes)).toBeGreaterThanOrEqual(0);
    expect(Number(h.facts.wal_lag_bytes)).toBeGreaterThanOrEqual(0);
    expect(Number(h.facts.wal_last_durable_unix_ms)).toBeGreaterThan(0);
  }, 60_000);

  it('seals a finished segment: complete on the coordinator, byte-equal to pg_wal, gone from the spool', async () => {
    const done = await switchSegment();
    const lsn = await commitRow(env.pg, 'after switch');
    await streamer!.waitDurable(lsn, 15_000);
    const f = await waitUntil('the segment sealed', async () => (await listAll(env.rpc)).find((x) => x.fileName === done && x.complete));
    expect(Number(f.size)).toBe(SEG_SIZE);
    const stored = (await fetchWal(env.rpc, SOURCE, done)).data;
    expect(stored.equals(await readFile(join(env.pg.dataDir, 'pg_wal', done)))).toBe(true);
    expect(createHash('sha256').update(stored).digest().equals(f.sha256)).toBe(true);
    await waitUntil('the spool copy deleted', async () => !(await readdir(env.config().wal.spoolDir)).includes(done));
  }, 60_000);

  it('restarts pg_receivewal when it is killed, with no hole', async () => {
    const pid = Number(streamer!.health().facts.receivewal_pid);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 20; i++) await commitRow(env.pg, `while receivewal is down ${i}`);
    await waitUntil('pg_receivewal restarted', () => {
      const f = streamer!.health().facts;
      return Number(f.receivewal_restarts) >= 1 && f.receivewal_state === 'running' && Number(f.receivewal_pid) !== pid ? true : undefined;
    });
    const lsn = await commitRow(env.pg, 'after restart');
    await streamer!.waitDurable(lsn, 20_000);
    const r = await assertNoHole(env, firstSegment, lsn);
    expect(r.complete).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('keeps WAL in the spool while the coordinator is down, then catches up with no hole', async () => {
    await env.stopCoordinator();
    for (let i = 0; i < 10; i++) await commitRow(env.pg, `coordinator down ${i}`);
    const spooled = await switchSegment();
    const lsnDown = await commitRow(env.pg, 'coordinator still down');
    // The finished segment waits in the spool, and the health says why.
    await waitUntil('the finished segment in the spool', async () => (await readdir(env.config().wal.spoolDir)).includes(spooled));
    const h = await waitUntil('health degraded', () => (streamer!.health().state === 'degraded' ? streamer!.health() : undefined));
    expect(h.detail).toMatch(/not reaching the coordinator/);
    expect(Number(h.facts.wal_lag_bytes)).toBeGreaterThan(0);

    await env.startCoordinator();
    await streamer!.waitDurable(lsnDown, 30_000);
    const lsn = await commitRow(env.pg, 'coordinator back');
    await streamer!.waitDurable(lsn, 20_000);
    await assertNoHole(env, firstSegment, lsn);
    await waitUntil('health ok again', () => (streamer!.health().state === 'ok' ? true : undefined));
  }, 90_000);

  it('carries on after an agent restart (a new streamer, no memory of the old one), with no hole', async () => {
    await streamer!.stop();
    for (let i = 0; i < 10; i++) await commitRow(env.pg, `agent down ${i}`);
    await switchSegment();
    await commitRow(env.pg, 'agent still down');
    streamer = newStreamer();
    await streamer.start();
    const lsn = await commitRow(env.pg, 'agent back');
    await streamer.waitDurable(lsn, 30_000);
    await assertNoHole(env, firstSegment, lsn);
  }, 90_000);
});

describe('spool limit', () => {
  it('pauses pg_receivewal past spoolLimitBytes while the coordinator is away (the slot keeps the WAL), resumes when it drains', async () => {
    await streamer!.stop();
    // Room for the preallocated .partial and a bit: one finished segment more puts the spool over.
    streamer = newStreamer({ spoolLimitBytes: 20 * 1024 * 1024 });
    await streamer.start();
    const warm = await commitRow(env.pg, 'spool limit start');
    await streamer.waitDurable(warm, 20_000);
    await env.stopCoordinator();
    await switchSegment();
    await switchSegment();
    const h = await waitUntil('paused', () => (streamer!.health().facts.receivewal_state === 'paused' ? streamer!.health() : undefined), 30_000);
    expect(h.state).toBe('degraded');
    expect(h.detail).toMatch(/spool .* holds \d+ bytes \(limit 20971520\): pg_receivewal is paused/);
    expect(h.facts.alert, 'the coordinator raises REPLICATION_LAG for it').toBe('REPLICATION_LAG');
    // The server keeps what pg_receivewal does not fetch now.
    const during = await commitRow(env.pg, 'while paused');
    const [slot] = await env.pg.query<{ restart_lsn: string }>(`SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'pbk_main'`);
    expect(parseLsn(slot!.restart_lsn)).toBeLessThan(during);

    await env.startCoordinator();
    await waitUntil('resumed', () => (streamer!.health().facts.receivewal_state === 'running' ? true : undefined), 60_000);
    await streamer.waitDurable(during, 30_000);
    await assertNoHole(env, firstSegment, during);
  }, 120_000);
});

describe('wal-push and wal-fetch through the local socket', () => {
  let sock = '';
  let sealed = '';

  beforeAll(async () => {
    // A directory the postgres OS user may enter: it runs wal-fetch in a real restore.
    sockDir = await pgTempDir('pbk-sock-');
    sock = join(sockDir, 'agent.sock');
    const { gid } = await pgOsIds();
    api = await startLocalApi({ socketPath: sock, gid, rpc: env.rpc, log, walTarget: (name) => (name === 'main' || name === '_' ? streamer : undefined) });
    sealed = (await listAll(env.rpc)).find((f) => f.complete && f.fileName.length === 24)!.fileName;
  });

  it('wal-push of a segment the coordinator already has (same bytes) succeeds and says so', async () => {
    const dir = join(env.base, 'archive-src');
    await mkdir(dir, { recursive: true });
    await copyFile(join(env.pg.dataDir, 'pg_wal', sealed), join(dir, sealed));
    const r = await runTo(AGENT, ['wal-push', '--socket', sock, '--source', 'main', join(dir, sealed)]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/already archived/);
  });

  it('wal-push of different content under a stored name fails (exit 6) and the stored file is untouched', async () => {
    const dir = join(env.base, 'archive-forged');
    await mkdir(dir, { recursive: true });
    const forged = await readFile(join(env.pg.dataDir, 'pg_wal', sealed));
    forged[SEG_SIZE / 2] ^= 0xff;
    await writeFile(join(dir, sealed), forged);
    const r = await runTo(AGENT, ['wal-push', '--socket', sock, '--source', 'main', join(dir, sealed)]);
    expect(r.code, r.out).toBe(6);
    expect(r.out).toMatch(new RegExp(`${sealed}.*already stored complete with different content`));
    const stored = (await fetchWal(env.rpc, SOURCE, sealed)).data;
    expect(stored.equals(await readFile(join(env.pg.dataDir, 'pg_wal', sealed)))).toBe(true);
  });

  it('wal-push of a new file twice: stored, then already there', async () => {
    const dir = join(env.base, 'archive-new');
    await mkdir(dir, { recursive: true });
    const history = join(dir, '0000000A.history');
    await writeFile(history, '9\t0/9000000\tno recovery target specified\n');
    const first = await runTo(AGENT, ['wal-push', '--socket', sock, history]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).not.toMatch(/already archived/);
    const second = await runTo(AGENT, ['wal-push', '--socket', sock, history]);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/already archived/);
    expect((await fetchWal(env.rpc, SOURCE, '0000000A.history')).data.toString()).toContain('no recovery target');
  });

  // `pbk-agent wal-fetch` and the light entries a restore writes into restore_command behave alike
  // (argv words; the script once with curl and once without, where it runs the node entry for everything).
  const noCurl = ['/usr/bin/env', 'PATH=/nonexistent'];
  const fetchers: [string, string[]][] = [
    ['pbk-agent wal-fetch', [process.execPath, AGENT, 'wal-fetch']],
    ['dist/wal-fetch.js', [process.execPath, WAL_FETCH]],
    ['bin/wal-fetch.sh (curl)', ['/bin/sh', WAL_FETCH_SH, process.execPath, WAL_FETCH]],
    ['bin/wal-fetch.sh (no curl)', [...noCurl, '/bin/sh', WAL_FETCH_SH, process.execPath, WAL_FETCH]],
  ];
  it.each(fetchers)('%s, run as the postgres OS user, writes a stored segment; a missing one exits 1', async (_name, prog) => {
    const out = join(sockDir, `RECOVERYXLOG-${prog.length}`);
    const ok = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', sealed, out], { allowFailure: true });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readFile(out)).equals(await readFile(join(env.pg.dataDir, 'pg_wal', sealed)))).toBe(true);
    expect((await stat(out)).uid).toBe((await pgOsIds()).uid);

    const missing = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', '0000000100000000000000F0', join(sockDir, 'nope')], { allowFailure: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the archive/);
    expect(existsSync(join(sockDir, 'nope'))).toBe(false);
    const history = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', '00000063.history', join(sockDir, 'h')], { allowFailure: true });
    expect(history.code).toBe(1);
  });

  it('bin/wal-fetch.sh answers a stored segment and a missing one with curl alone, without starting node', async () => {
    // A node that does not exist: had the script fallen back to the node entry, it would exit 127.
    const prog = ['/bin/sh', WAL_FETCH_SH, '/nonexistent/node', WAL_FETCH];
    const out = join(sockDir, 'RECOVERYXLOG-curl');
    const ok = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', sealed, out], { allowFailure: true });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readFile(out)).equals(await readFile(join(env.pg.dataDir, 'pg_wal', sealed)))).toBe(true);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(existsSync(`${out}.pbk-fetch`)).toBe(false);
    const missing = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', '0000000100000000000000F0', join(sockDir, 'nope')], { allowFailure: true });
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/not in the archive of db-1\/main/);
    expect(existsSync(join(sockDir, 'nope'))).toBe(false);
    expect(existsSync(join(sockDir, 'nope.pbk-fetch'))).toBe(false);
  });

  it.each(fetchers)('%s: a bad WAL name exits 130, a dead socket 133 after retries', async (_name, prog) => {
    const badName = await run(prog[0]!, [...prog.slice(1), '--socket', sock, '--source', 'db-1/main', '../etc', join(sockDir, 'x')], { allowFailure: true });
    expect(badName.code, badName.stderr).toBe(130);
    expect(badName.stderr).toMatch(/not a WAL file name/);
    // A restore_command without --source must stop recovery too, never look like the end of the archive.
    const noSource = await run(prog[0]!, [...prog.slice(1), '--socket', sock, sealed, join(sockDir, 'x')], { allowFailure: true });
    expect(noSource.code, noSource.stderr).toBe(130);
    const dead = await run(prog[0]!, [...prog.slice(1), '--socket', join(sockDir, 'no-such.sock'), '--source', 'db-1/main', sealed, join(sockDir, 'x')], { allowFailure: true });
    expect(dead.code, dead.stderr).toBe(133);
    expect(dead.stderr).toMatch(/cannot reach the agent daemon/);
    expect(existsSync(join(sockDir, 'x'))).toBe(false);
  }, 30_000);

  it.each(fetchers)('%s --spool: a spooled segment is renamed into place without asking the daemon; an empty spool falls back to it', async (_name, prog) => {
    const spool = join(sockDir, `spool-${prog.length}-${prog[1]!.length}`);
    await mkdir(spool, { mode: 0o700 });
    const { uid, gid } = await pgOsIds();
    await chown(spool, uid, gid);
    await writeFile(join(spool, sealed), 'spooled bytes', { mode: 0o600 });
    await chown(join(spool, sealed), uid, gid);
    const out = join(sockDir, `RECOVERYXLOG-spool-${prog.length}-${prog[1]!.length}`);
    // A dead socket: only the spool can answer.
    const hit = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', join(sockDir, 'no-such.sock'), '--source', 'db-1/main', '--spool', spool, sealed, out], { allowFailure: true });
    expect(hit.code, hit.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe('spooled bytes');
    expect(existsSync(join(spool, sealed))).toBe(false);
    // Not spooled: the daemon answers as without --spool.
    const miss = await run('runuser', ['-u', 'postgres', '--', ...prog, '--socket', sock, '--source', 'db-1/main', '--spool', spool, sealed, out], { allowFailure: true });
    expect(miss.code, miss.stderr).toBe(0);
    expect((await readFile(out)).equals(await readFile(join(env.pg.dataDir, 'pg_wal', sealed)))).toBe(true);
  });

  it('wal-fetch of another host\'s WAL without a restore grant fails with a clear error, not "missing"', async () => {
    const r = await runTo(AGENT, ['wal-fetch', '--socket', sock, '--source', 'web-9/main', sealed, join(env.base, 'x')]);
    expect(r.code, r.out).toBe(132); // above 125: PostgreSQL aborts recovery instead of taking it as the end of the archive
    expect(r.out).toMatch(/may read it only during an operator's restore/);
  });
});

describe('bad input', () => {
  it('a slot dropped behind the agent\'s back: down, with the recovery plan; not silently recreated', async () => {
    const before = (await listAll(env.rpc)).length;
    // Kick pg_receivewal off the slot and drop it before the streamer reconnects.
    await waitUntil('slot dropped', async () => {
      await env.pg.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'pbk_main' AND active_pid IS NOT NULL`);
      await env.pg.query(`SELECT pg_drop_replication_slot('pbk_main')`);
      return true;
    }, 10_000, 20);
    // Down at once; the receiver's own state settles on slot-missing once its restart attempt has met the missing slot.
    const h = await waitUntil('health down, receiver slot-missing', () => {
      const x = streamer!.health();
      return x.state === 'down' && x.facts.receivewal_state === 'slot-missing' ? x : undefined;
    }, 20_000);
    expect(h.detail).toMatch(/replication slot pbk_main was dropped/);
    expect(h.detail).toMatch(/pg_create_physical_replication_slot\('pbk_main', true\)/);
    expect(h.detail).toMatch(/new base backup/);
    expect(h.facts.receivewal_state).toBe('slot-missing');
    // Give the restart loop time to (wrongly) recreate it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await env.pg.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'pbk_main'`)).toHaveLength(0);
    expect((await listAll(env.rpc)).length).toBeGreaterThanOrEqual(before);
    await streamer!.stop();
    streamer = undefined;
  }, 60_000);

  it('with wal.recreateDroppedSlot the slot is recreated and streaming resumes, and the WAL gap is reported', async () => {
    for (let i = 0; i < 5; i++) await commitRow(env.pg, `slot gone ${i}`);
    streamer = newStreamer({ recreateDroppedSlot: true });
    await streamer.start();
    await waitUntil('slot recreated', async () => ((await env.pg.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = 'pbk_main'`)).length === 1 ? true : undefined));
    const lsn = await commitRow(env.pg, 'after recreate');
    await streamer.waitDurable(lsn, 20_000);
    // A receiver that met the slot while it was being recreated restarts once more: wait for it to settle.
    const h = await waitUntil('receiver running', () => (streamer!.health().facts.receivewal_state === 'running' ? streamer!.health() : undefined), 20_000);
    expect(h.state).toBe('degraded');
    expect(h.detail).toMatch(/WAL gap: replication slot pbk_main was lost .* take a new base backup now/);
    expect(h.facts.wal_gap_after_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(h.facts.receivewal_state).toBe('running');
    await streamer.stop();
    streamer = undefined;
  }, 60_000);

  it('a corrupted WAL blob: wal-fetch exits above 125 naming the file and the blob, and writes nothing', async () => {
    const complete = (await listAll(env.rpc)).filter((f) => f.complete && f.fileName.length === 24).map((f) => f.fileName);
    expect(complete.length).toBeGreaterThanOrEqual(2);
    // Damage every pack every 128 bytes (packs and compressed pieces can be small): AES-GCM refuses any change.
    const packs: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/\/data\/[0-9a-f]{2}\/[0-9a-f]+$/.test(p)) packs.push(p);
      }
    };
    await walk(env.coordData);
    expect(packs.length).toBeGreaterThan(0);
    for (const p of packs) {
      const bytes = await readFile(p);
      for (let off = 0; off < bytes.length; off += 128) bytes[off]! ^= 0x5a;
      await writeFile(p, bytes);
    }
    // A fresh daemon: the running one may hold segments it fetched ahead (and checked) before the damage.
    await api?.close();
    api = await startLocalApi({ socketPath: join(sockDir, 'agent.sock'), gid: (await pgOsIds()).gid, rpc: env.rpc, log, walTarget: () => undefined });
    let failures = 0;
    for (const name of complete) {
      const out = join(sockDir, `fetched-${name}`);
      const r = await runTo(AGENT, ['wal-fetch', '--socket', join(sockDir, 'agent.sock'), '--source', 'db-1/main', name, out]);
      if (r.code === 0) continue;
      failures++;
      expect(r.code, r.out).toBe(134); // above 125: PostgreSQL aborts recovery (FATAL) instead of ending it here
      expect(r.out).toMatch(new RegExp(`WAL file ${name} is damaged: blob [0-9a-f]{64}`));
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.pbk-fetch`)).toBe(false);
    }
    expect(failures).toBe(complete.length);
  }, 60_000);
});

