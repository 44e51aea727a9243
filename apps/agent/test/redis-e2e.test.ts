/**
 * Redis end to end, real processes only: `pbk-coordinator serve`, an enrolled
 * `pbk-agent run` with four redis sources, the `pbk` CLI, and real
 * redis-server instances (one per scenario, free ports, temp dirs):
 *
 * - cache: a known key set of every type (strings incl. binary, hashes,
 *   lists, sets, zsets, streams with a consumer group, keys with TTLs, three
 *   dbs) is backed up, FLUSHALLed, restored with `pbk restore redis --to`, a
 *   scratch redis-server started on the restored RDB, and every key, type,
 *   value and TTL compared; `pbk validate` passes its four checks.
 * - ro: BGSAVE into a read-only dir (a ro tmpfs mounted for the test: root
 *   cannot write it either) -> the run fails with Redis's reason, no
 *   snapshot, BACKUP_FAILED raised, the source degraded in heartbeats.
 * - big: ~100 MB of keys; Redis is SIGKILLed while the agent streams the
 *   RDB -> clean failure, nothing committed, `pbk verify` clean.
 * - aof: appendonly yes; restored `--into` its stopped instance: refused
 *   while it runs, the old RDB moved aside, the AOF warning given, and the
 *   documented procedure (AOF moved away, start, CONFIG SET appendonly yes)
 *   brings the backed-up data back.
 * - last, a byte flipped in a pack of the coordinator's repository: the
 *   restore refuses naming the damage, writes nothing, and everything else
 *   still restores.
 *
 * Needs the built apps (coordinator, agent, cli dist): build first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, stopAllRedis, type RedisInstance } from '@pbk/testkit';
import { COORDINATOR, AGENT, CLI, runProc, startProc, type Proc } from './procs.js';


const start = startProc;
const run = runProc;

/** Every key of every db: type, value (binary-safe) and whether it has a TTL. */
type KeyDump = Record<string, { type: string; value: unknown; ttl: boolean }>;

async function dumpAll(port: number, dbs: number[]): Promise<KeyDump> {
  const out: KeyDump = {};
  for (const db of dbs) {
    const c = new Redis({ port, host: '127.0.0.1', db, lazyConnect: true });
    await c.connect();
    try {
      const keys = (await c.keys('*')).sort();
      for (const k of keys) {
        const type = await c.type(k);
        let value: unknown;
        if (type === 'string') value = (await c.getBuffer(k))!.toString('base64');
        else if (type === 'hash') value = await c.hgetall(k);
        else if (type === 'list') value = await c.lrange(k, 0, -1);
        else if (type === 'set') value = (await c.smembers(k)).sort();
        else if (type === 'zset') value = await c.zrange(k, 0, -1, 'WITHSCORES');
        else if (type === 'stream') value = { entries: await c.xrange(k, '-', '+'), groups: await c.xinfo('GROUPS', k) };
        else value = `unexpected type ${type}`;
        const pttl = await c.pttl(k);
        out[`db${db}:${k}`] = { type, value, ttl: pttl > 0 };
      }
    } finally {
      c.disconnect();
    }
  }
  return out;
}

/** The known key set: every data type, binary values, TTLs, three dbs. */
async function writeKnownKeys(port: number): Promise<void> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await c.connect();
  try {
    await c.set('str:plain', 'hello redis');
    await c.set('str:binary', Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]));
    await c.set('str:big', 'x'.repeat(300_000) + 'end');
    await c.set('str:int', '12345');
    await c.set('ttl:ex', 'expires in an hour', 'EX', 3600);
    await c.set('ttl:px', 'expires in 2 hours', 'PX', 7_200_000);
    await c.hset('hash:user:1', { name: 'Ada', lang: 'en', visits: '42' });
    await c.hset('hash:wide', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`])));
    await c.expire('hash:wide', 5000);
    await c.rpush('list:queue', 'a', 'b', 'c', 'a');
    await c.rpush('list:long', ...Array.from({ length: 2000 }, (_, i) => `item-${i}`));
    await c.sadd('set:tags', 'red', 'green', 'blue');
    await c.sadd('set:ints', 1, 2, 3, 1000000);
    await c.zadd('zset:scores', 1.5, 'alice', -3, 'bob', 1e10, 'carol');
    await c.xadd('stream:events', '1700000000000-0', 'type', 'login', 'user', 'ada');
    await c.xadd('stream:events', '1700000000001-0', 'type', 'logout', 'user', 'ada');
    await c.xadd('stream:events', '*', 'type', 'tick');
    await c.xgroup('CREATE', 'stream:events', 'workers', '0');
    await c.select(1);
    await c.set('db1:only', 'in db 1');
    await c.lpush('db1:list', 'z');
    await c.set('db1:ttl', 'v', 'EX', 86400);
    await c.select(5);
    await c.sadd('db5:set', 'x');
  } finally {
    c.disconnect();
  }
}

const DBS = [0, 1, 5];

describe('e2e: redis sources through pbk-agent, pbk-coordinator and pbk', () => {
  it('has the apps built', () => {
    for (const f of [COORDINATOR, AGENT, CLI]) expect(existsSync(f), `build first: npx nx run-many -t build (${f})`).toBe(true);
  });

  let base: string;
  let coord: Proc | undefined;
  let agent: Proc | undefined;
  let grpcAddr = '';
  let roMount = '';
  let cache: RedisInstance;
  let ro: RedisInstance;
  let big: RedisInstance;
  let aof: RedisInstance;
  let scratch: RedisInstance | undefined;
  let expected: KeyDump;
  const data = (): string => join(base, 'coord');

  /** The CLI with admin credentials; stdout and stderr apart, `--json` parsed. */
  const pbk = async (args: string[]): Promise<{ code: number | null; json: any; stderr: string; stdout: string }> => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PBK_COORDINATOR: grpcAddr, PBK_CREDENTIALS: join(data(), 'admin') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    let json: any;
    try {
      json = JSON.parse(stdout || stderr.trim().split('\n').pop() || 'null');
    } catch {
      json = undefined;
    }
    return { code, json, stderr, stdout };
  };
  const snapshotsOf = async (source: string): Promise<any[]> => {
    const r = await pbk(['snapshots', '--host', 'cache-host', '--source', source]);
    expect(r.code, r.stderr).toBe(0);
    return r.json.snapshots;
  };
  /** Retries while the agent's Control stream is not up yet (exit 5). */
  const pbkWhenConnected = async (args: string[]): Promise<Awaited<ReturnType<typeof pbk>>> => {
    for (let i = 0; ; i++) {
      const r = await pbk(args);
      if (r.code !== 5 || i > 60) return r;
      await new Promise((res) => setTimeout(res, 250));
    }
  };

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'pbk-redis-e2e-'));
    const init = await run(COORDINATOR, ['init', '--data', data()]);
    expect(init.code, init.out).toBe(0);
    coord = start(COORDINATOR, ['serve', '--data', data(), '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    grpcAddr = (JSON.parse(await coord.waitFor((l) => l.includes('"event":"ready"'))) as { grpc: string }).grpc;

    cache = await startRedis();
    ro = await startRedis({ config: { 'enable-protected-configs': 'yes' } });
    big = await startRedis({ config: { 'enable-debug-command': 'yes', rdbcompression: 'no' } });
    aof = await startRedis({ config: { appendonly: 'yes' } });

    // A read-only dir for the failing BGSAVE: a ro tmpfs refuses root too (chmod would not).
    roMount = await mkdtemp(join(tmpdir(), 'pbk-redis-ro-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', roMount]);

    const token = await run(COORDINATOR, ['token', '--data', data(), '--host', 'cache-host']);
    expect(token.code, token.out).toBe(0);
    const enrolled = await run(AGENT, ['enroll', '--coordinator', grpcAddr, '--token', '-', '--state', join(base, 'state')], token.out.trim());
    expect(enrolled.code, enrolled.out).toBe(0);
    const source = (name: string, r: RedisInstance): string => `  - name: ${name}\n    kind: redis\n    address: ${r.address}\n    schedule: null\n    pollIntervalMs: 50\n`;
    await writeFile(join(base, 'agent.yaml'), `state: state\nsources:\n${source('cache', cache)}${source('ro', ro)}${source('big', big)}${source('aof', aof)}`);
    agent = start(AGENT, ['run', '--config', join(base, 'agent.yaml')]);
    await agent.waitFor((l) => l.includes('"agent running"'));
  });

  afterAll(async () => {
    for (const p of [agent, coord]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const r of [cache, ro, big, aof, scratch]) await r?.cleanup().catch(() => undefined);
    await stopAllRedis();
    if (roMount) {
      try {
        execFileSync('umount', [roMount]);
      } catch {
        /* not mounted */
      }
      await rm(roMount, { recursive: true, force: true });
    }
    if (base) await rm(base, { recursive: true, force: true });
  });

  let first: any;

  it('backs up a known key set of every type with its labels', async () => {
    await writeKnownKeys(cache.port);
    expected = await dumpAll(cache.port, DBS);
    expect(Object.keys(expected)).toHaveLength(18);
    const r = await pbkWhenConnected(['backup', 'now', '--host', 'cache-host', '--source', 'cache', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    first = r.json.snapshot;
    expect(first.kind).toBe('redis');
    expect(first.labels).toMatchObject({
      keys: 'db0=14,db1=3,db5=1',
      expires: 'db0=3,db1=1,db5=0',
      keys_total: '18',
      rdb_version: '10',
      rdb_file: join(cache.dir, 'dump.rdb'),
      rdb_from: 'config',
      appendonly: 'no',
      bgsave: 'started',
      trigger: 'command',
    });
    expect(first.labels.redis_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(first.labels.used_memory)).toBeGreaterThan(0);
    expect(Number(first.labels.rdb_bytes)).toBe((await stat(join(cache.dir, 'dump.rdb'))).size);
    expect(first.stats.files).toBe(1);
    expect(first.paths).toEqual([join(cache.dir, 'dump.rdb')]);
  });

  it('restores with pbk restore redis --to after FLUSHALL: every key, type, value and TTL comes back', async () => {
    const c = new Redis({ port: cache.port, host: '127.0.0.1' });
    await c.flushall();
    expect(await c.dbsize()).toBe(0);
    c.disconnect();

    const restoreDir = join(base, 'restored');
    await mkdir(restoreDir);
    const target = join(restoreDir, 'dump.rdb');
    const r = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--to', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.restore.snapshot.id).toBe(first.id);
    expect(r.json.restore.facts).toMatchObject({ rdb_file: target, rdb_version: '10', keys: 'db0=14,db1=3,db5=1' });
    expect(await readdir(restoreDir)).toEqual(['dump.rdb']); // no temp dir left behind

    scratch = await startRedis({ dir: restoreDir });
    expect(await dumpAll(scratch.port, DBS)).toEqual(expected);
    const s = new Redis({ port: scratch.port, host: '127.0.0.1' });
    const ttl = await s.ttl('ttl:ex');
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await s.ttl('str:plain')).toBe(-1);
    s.disconnect();
    await scratch.stop();

    // An existing file is refused without --force (exit 8) and left alone; with --force it is replaced.
    const again = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--to', target]);
    expect(again.code).toBe(8);
    expect(again.json.error.message).toMatch(/exists: choose another file, or --force/);
    const forced = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--to', target, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const bad = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--to', 'relative.rdb']);
    expect(bad.code).toBe(2);
  });

  it('validates the snapshot: redis-check-rdb, a scratch load, key counts', async () => {
    const r = await pbk(['validate', '--host', 'cache-host', '--source', 'cache']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json.report.ok).toBe(true);
    expect(r.json.report.checks.map((c: any) => [c.name, c.ok])).toEqual([
      ['restore', true],
      ['redis-check-rdb', true],
      ['load', true],
      ['key-counts', true],
    ]);
    expect(r.json.report.checks[3].detail).toMatch(/db0: 14 \(expected 14\), db1: 3 \(expected 3\), db5: 1 \(expected 1\)/);
    expect(r.json.snapshot.id).toBe(first.id);
    // Scratch space is cleaned up.
    expect((await readdir(tmpdir())).filter((n) => n.startsWith('pbk-redis-validate-'))).toEqual([]);
    // Bad input: an unknown source is NOT_FOUND (exit 3); a time before any snapshot too.
    const unknown = await pbk(['validate', '--host', 'cache-host', '--source', 'nosuch']);
    expect(unknown.code).toBe(3);
    expect(unknown.json.error.message).toMatch(/no redis or postgres snapshots of cache-host\/nosuch/);
    const tooEarly = await pbk(['validate', '--host', 'cache-host', '--source', 'cache', '--at', '2020-01-01']);
    expect(tooEarly.code).toBe(3);
    expect(tooEarly.json.error.message).toMatch(/no snapshot of cache-host\/redis\/cache at or before 2020-01-01/);
  });

  it('a BGSAVE that fails (read-only dir) fails the run with the reason from Redis: no snapshot, an alert, the failure recorded', async () => {
    const c = new Redis({ port: ro.port, host: '127.0.0.1' });
    await c.set('k', 'v');
    await c.config('SET', 'dir', roMount);
    c.disconnect();
    const r = await pbk(['backup', 'now', '--host', 'cache-host', '--source', 'ro', '--wait']);
    expect(r.code).toBe(8);
    expect(r.json.error.code).toBe('FAILED_PRECONDITION');
    expect(r.json.error.message).toMatch(/BGSAVE failed on Redis at 127\.0\.0\.1:\d+: Failed opening the temp RDB file .* Read-only file system/);
    expect(await snapshotsOf('ro')).toEqual([]);
    await agent!.waitFor((l) => l.includes('"redis backup failed"') && l.includes('"level":50') && l.includes('"source":"ro"'), 5000);
    await coord!.waitFor((l) => l.includes('alert BACKUP_FAILED') && l.includes('cache-host/redis/ro'), 5000);
    const status = await pbk(['status']);
    const src = status.json.sources.find((s: any) => s.source === 'ro');
    expect(src.state).toBe('failing');
    expect(src.failure.message).toMatch(/Read-only file system/);
    // The repository is untouched by the failed run: everything in it still verifies.
    const v = await pbk(['verify', '--read-data', '100']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json.report.ok).toBe(true);
  });

  it('Redis killed while the agent streams the RDB: clean failure, nothing committed, the repository still verifies', async () => {
    const c = new Redis({ port: big.port, host: '127.0.0.1' });
    await c.call('DEBUG', 'POPULATE', '800000', 'big', '120'); // ~110 MB RDB (rdbcompression no)
    c.disconnect();
    const backup = pbk(['backup', 'now', '--host', 'cache-host', '--source', 'big', '--wait']);
    await agent!.waitFor((l) => l.includes('streaming the RDB') && l.includes('"source":"big"'), 60_000);
    process.kill(big.pid!, 'SIGKILL');
    const r = await backup;
    expect(r.code).toBe(8);
    expect(r.json.error.message).toMatch(/connection to Redis at 127\.0\.0\.1:\d+ \(source big\) was lost/);
    expect(await snapshotsOf('big')).toEqual([]);
    await agent!.waitFor((l) => l.includes('"backup run aborted"') && l.includes('"source":"big"'), 5000);
    const v = await pbk(['verify', '--read-data', '100']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json.report.ok).toBe(true);
  });

  it('restores --into a stopped instance with appendonly yes: refused while running, old RDB kept, AOF warning, documented procedure works', async () => {
    const c = new Redis({ port: aof.port, host: '127.0.0.1' });
    await c.set('kept', 'from the backup');
    await c.hset('kept:hash', 'f', 'v');
    c.disconnect();
    const b = await pbk(['backup', 'now', '--host', 'cache-host', '--source', 'aof', '--wait']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.snapshot.labels.appendonly).toBe('yes');
    const c2 = new Redis({ port: aof.port, host: '127.0.0.1' });
    await c2.set('after-backup', 'must not come back');
    await c2.del('kept');
    c2.disconnect();

    const running = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'aof', '--into', aof.address]);
    expect(running.code).toBe(8);
    expect(running.json.error.message).toMatch(/is running: stop it first/);

    await aof.stop();
    const oldRdb = await readFile(join(aof.dir, 'dump.rdb'));
    const r = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'aof', '--into', aof.address]);
    expect(r.code, r.stderr).toBe(0);
    const facts = r.json.restore.facts;
    expect(facts).toMatchObject({ rdb_file: join(aof.dir, 'dump.rdb'), into: aof.address, appendonly: 'yes' });
    expect(facts.warning).toMatch(/appendonly yes \(appendonlydir is in .*\): on start Redis loads the AOF, not the RDB/);
    expect(await readFile(facts.moved_aside)).toEqual(oldRdb);
    expect((await readdir(aof.dir)).filter((n) => n.startsWith('.pbk-redis-restore-'))).toEqual([]);

    // The documented procedure: move the AOF away, start with appendonly no, check, then CONFIG SET appendonly yes.
    await rename(join(aof.dir, 'appendonlydir'), join(base, 'appendonlydir.old'));
    const back = await startRedis({ dir: aof.dir, config: { appendonly: 'no' } });
    try {
      const d = await dumpAll(back.port, [0]);
      expect(Object.keys(d).sort()).toEqual(['db0:kept', 'db0:kept:hash']);
      const s = new Redis({ port: back.port, host: '127.0.0.1' });
      expect(await s.get('kept')).toBe('from the backup');
      await s.config('SET', 'appendonly', 'yes');
      for (let i = 0; i < 100 && !existsSync(join(aof.dir, 'appendonlydir')); i++) await new Promise((res) => setTimeout(res, 50));
      expect(existsSync(join(aof.dir, 'appendonlydir'))).toBe(true);
      s.disconnect();
    } finally {
      await back.cleanup().catch(() => undefined);
    }
  });

  it('reported the failing source as degraded in its heartbeats (the coordinator alerted on it)', async () => {
    // Heartbeats come every 15 s by default: this line has had the whole file's run time to appear.
    await coord!.waitFor((l) => l.includes('cache-host/redis/ro is degraded: last dump failed: FAILED_PRECONDITION'), 30_000);
  });

  it('a corrupted RDB blob in the repository: the restore refuses naming it, writes nothing; the rest still restores', async () => {
    const packsDir = join(data(), 'repository');
    const listPacks = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) await walk(p);
          else if (p.includes('/packs/') || p.includes('/data/')) out.set(p, (await stat(p)).size);
        }
      };
      await walk(packsDir);
      return out;
    };
    const before = await listPacks();
    // Fresh random data: its chunks are in no earlier pack.
    const c = new Redis({ port: cache.port, host: '127.0.0.1' });
    const pipe = c.pipeline();
    for (let i = 0; i < 3000; i++) pipe.set(`rnd:${i}`, Buffer.from(Array.from({ length: 600 }, () => Math.floor(Math.random() * 256))));
    await pipe.exec();
    c.disconnect();
    const b = await pbk(['backup', 'now', '--host', 'cache-host', '--source', 'cache', '--wait']);
    expect(b.code, b.stderr).toBe(0);
    const fresh = [...(await listPacks())].filter(([p]) => !before.has(p)).sort((x, y) => y[1] - x[1]);
    expect(fresh.length).toBeGreaterThan(0);
    const [packPath, packSize] = fresh[0]!;
    const fh = await open(packPath, 'r+');
    try {
      const at = Math.floor(packSize / 2);
      const byte = Buffer.alloc(1);
      await fh.read(byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0xff;
      await fh.write(byte, 0, 1, at);
    } finally {
      await fh.close();
    }
    const target = join(base, 'corrupt', 'dump.rdb');
    await mkdir(join(base, 'corrupt'));
    const r = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--to', target]);
    expect(r.code, r.stdout).toBe(6);
    // The agent checks every blob against its id: the damaged one is named, with the file it belongs to.
    expect(r.json.error.code).toBe('CORRUPT');
    expect(r.json.error.message).toMatch(/blob [0-9a-f]{64} is corrupt: .* \(file \/dump\.rdb\)/);
    const packName = packPath.split('/').pop()!.slice(0, 16);
    expect(await readdir(join(base, 'corrupt'))).toEqual([]);
    // Validation of that snapshot reports the failed restore check (exit 7), no crash, nothing left behind.
    const val = await pbk(['validate', '--host', 'cache-host', '--source', 'cache']);
    expect(val.code).toBe(7);
    expect(val.json.report.ok).toBe(false);
    expect(val.json.report.checks).toEqual([{ name: 'restore', ok: false, detail: expect.stringMatching(/blob [0-9a-f]{64} is corrupt/) }]);

    // Verify names the damaged pack and nothing else; the earlier snapshot still restores whole.
    const v = await pbk(['verify', '--read-data', '100']);
    expect(v.code).toBe(7);
    expect(v.json.report.problems.length).toBeGreaterThan(0);
    for (const p of v.json.report.problems) expect(`${p.object} ${p.message}`).toMatch(new RegExp(packName));
    const older = join(base, 'corrupt', 'older.rdb');
    const ok = await pbk(['restore', 'redis', '--host', 'cache-host', '--source', 'cache', '--at', new Date(Date.parse(first.time) + 500).toISOString(), '--to', older]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.restore.snapshot.id).toBe(first.id);
  });

  it('stops cleanly on SIGTERM', async () => {
    agent!.child.kill('SIGTERM');
    expect(await agent!.exited).toBe(0);
  });
});
