/**
 * BGSAVE against real redis-server instances (no coordinator): the plain
 * case, a BGSAVE already running, an AOF rewrite holding the fork (BGSAVE
 * SCHEDULE), a dir Redis cannot write (a read-only tmpfs mounted for the
 * test, so it fails even as root), a timeout, and the dump file checks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, stopAllRedis, type RedisInstance } from '@pbk/testkit';
import { systemClock } from '../src/clock.js';
import { silentLogger } from '../src/logger.js';
import { bgsave, persistence } from '../src/redis/bgsave.js';
import { connectRedis, type RedisConnection, type RedisTarget } from '../src/redis/connection.js';
import { BgsaveFailedError, RdbFileError, RedisSourceError } from '../src/redis/errors.js';
import { findGrowingRdb, followGrowing, locateRdb, openRdb, sameAsDump } from '../src/redis/rdb-file.js';

const target = (r: RedisInstance, extra: Partial<RedisTarget> = {}): RedisTarget => ({
  name: 'test',
  address: r.address,
  host: '127.0.0.1',
  port: r.port,
  username: undefined,
  password: undefined,
  tls: false,
  connectTimeoutMs: 5000,
  ...extra,
});
const opts = (r: RedisInstance, timeoutMs = 20_000) => ({ address: r.address, timeoutMs, pollMs: 20, clock: systemClock, signal: new AbortController().signal, log: silentLogger() });

describe('redis BGSAVE and the dump file (real redis-server)', () => {
  let r: RedisInstance;
  let conn: RedisConnection;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // rdb-key-save-delay slows every dump down on demand; protected configs let the test move `dir`.
    r = await startRedis({ config: { 'enable-protected-configs': 'yes', 'enable-debug-command': 'yes' } });
    conn = await connectRedis(target(r));
    await conn.call('DEBUG', 'POPULATE', '2000', 'k', '64');
  });

  afterAll(async () => {
    await conn?.close();
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await r?.cleanup();
    await stopAllRedis();
  });

  it('dumps, waits for our save, and opens the file it wrote', async () => {
    const done = await bgsave(conn, opts(r));
    expect(done.how).toBe('started');
    expect(done.state.lastBgsaveOk).toBe(true);
    expect(done.lastSave).toBeGreaterThanOrEqual(done.requestedAt);
    const where = await locateRdb(conn, r.address, undefined);
    expect(where).toEqual({ path: join(r.dir, 'dump.rdb'), from: 'config' });
    const rdb = await openRdb(where.path, done.requestedAt);
    try {
      expect(rdb.version).toBe(10);
      let n = 0;
      for await (const b of rdb.chunks(new AbortController().signal, () => undefined)) n += b.length;
      expect(n).toBe(rdb.size);
      await rdb.checkUnchanged();
    } finally {
      await rdb.close();
    }
  });

  it('waits for a BGSAVE that was already running, then makes its own', async () => {
    await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '200'); // 2000 keys x 200 us = ~0.4 s
    try {
      expect(await conn.call('BGSAVE')).toMatch(/started/);
      const before = await persistence(conn, r.address);
      expect(before.bgsaveInProgress).toBe(true);
      const done = await bgsave(conn, opts(r));
      expect(done.how).toBe('after-running');
      // rdb_saves counts a save when it starts: the running one is in `before`, ours adds one.
      expect(done.state.saves).toBe((before.saves ?? 0) + 1);
    } finally {
      await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    }
  });

  it('schedules the BGSAVE after an AOF rewrite that holds the fork', async () => {
    await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '200');
    await conn.call('CONFIG', 'SET', 'appendonly', 'yes');
    try {
      // Turning appendonly on starts a rewrite; wait for it, then start one we know is running.
      for (let i = 0; i < 200 && (await persistence(conn, r.address)).aofRewriteInProgress; i++) await new Promise((res) => setTimeout(res, 25));
      expect(await conn.call('BGREWRITEAOF')).toMatch(/rewriting started/);
      const done = await bgsave(conn, opts(r));
      expect(done.how).toBe('scheduled');
      expect(done.state.lastBgsaveOk).toBe(true);
    } finally {
      await conn.call('CONFIG', 'SET', 'appendonly', 'no');
      await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    }
  });

  it('fails with the reason from Redis when the dir is read-only (a ro tmpfs: root cannot write it either)', async () => {
    const mnt = await mkdtemp(join(tmpdir(), 'pbk-ro-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt]);
    cleanups.push(async () => {
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    });
    await conn.call('CONFIG', 'SET', 'dir', mnt);
    try {
      const err = await bgsave(conn, opts(r)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BgsaveFailedError);
      expect((err as BgsaveFailedError).code).toBe('FAILED_PRECONDITION');
      expect((err as BgsaveFailedError).reason).toMatch(/Failed opening the temp RDB file .*Read-only file system/);
      expect((err as Error).message).toMatch(/^BGSAVE failed on Redis at 127\.0\.0\.1:\d+: Failed opening/);
    } finally {
      await conn.call('CONFIG', 'SET', 'dir', r.dir);
    }
  });

  it('times out with what Redis reports, without stopping the dump', async () => {
    await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '1000'); // ~2 s
    try {
      const err = await bgsave(conn, opts(r, 300)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BgsaveFailedError);
      expect((err as Error).message).toMatch(/timed out waiting for our BGSAVE .* after 0 s \(rdb_current_bgsave_time_sec:\d+\)/);
      expect((await persistence(conn, r.address)).bgsaveInProgress).toBe(true);
    } finally {
      await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
      while ((await persistence(conn, r.address)).bgsaveInProgress) await new Promise((res) => setTimeout(res, 50));
    }
  });

  it('reads the dump while Redis writes it: the bytes are exactly the finished dump, proven by inode and size', async () => {
    await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '300'); // 2000 keys: ~0.6 s of writing
    // A leftover temp file from an old crashed save must not be picked (it is older than the request).
    const leftover = join(r.dir, 'temp-1.rdb');
    await writeFile(leftover, 'REDIS0010 stale');
    await utimes(leftover, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    try {
      let requestedAt: number | undefined;
      let outcome: { ok: true } | { ok: false; error: unknown } | undefined;
      const state = { requestedAt: () => requestedAt, outcome: () => outcome };
      const saving = bgsave(conn, { ...opts(r), onRequested: (s) => (requestedAt = s) });
      saving.then(
        () => (outcome = { ok: true }),
        (error: unknown) => (outcome = { ok: false, error }),
      );
      const signal = new AbortController().signal;
      const growing = await findGrowingRdb(r.dir, state, signal, 5);
      expect(growing?.path).toMatch(/temp-\d+\.rdb$/);
      expect(growing?.path).not.toBe(leftover);
      const parts: Buffer[] = [];
      let sawPartial = false;
      for await (const b of followGrowing(growing!.fh, growing!.path, state, signal, 5, () => undefined)) {
        parts.push(Buffer.from(b));
        if (outcome === undefined) sawPartial = true;
      }
      await saving;
      const read = Buffer.concat(parts);
      const facts = await sameAsDump(growing!.fh, join(r.dir, 'dump.rdb'), read.length);
      await growing!.fh.close();
      expect(sawPartial).toBe(true); // bytes arrived before the save was over
      expect(facts).toMatchObject({ size: read.length, version: 10 });
      expect(read.equals(await readFile(join(r.dir, 'dump.rdb')))).toBe(true);
      // Another file at the RDB path (a later save renamed over it) is not "the same dump".
      const again = await open(join(r.dir, 'dump.rdb'), 'r');
      await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
      await bgsave(conn, opts(r));
      expect(await sameAsDump(again, join(r.dir, 'dump.rdb'), read.length)).toBeUndefined();
      await again.close();
    } finally {
      await conn.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
      await rm(leftover, { force: true });
    }
  });

  it('refuses a dump file older than the request, and a file that is not an RDB', async () => {
    const err = await openRdb(join(r.dir, 'dump.rdb'), Math.floor(Date.now() / 1000) + 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RdbFileError);
    expect((err as Error).message).toMatch(/before the BGSAVE asked for/);
    const fake = join(r.dir, 'fake.rdb');
    await writeFile(fake, 'not an rdb file at all');
    const bad = await openRdb(fake, 0).catch((e: unknown) => e);
    expect((bad as RdbFileError).code).toBe('CORRUPT');
    const missing = await openRdb(join(r.dir, 'nope.rdb'), 0).catch((e: unknown) => e);
    expect((missing as RdbFileError).code).toBe('NOT_FOUND');
  });

  it('names the instance and the fix when it cannot connect or authenticate', async () => {
    const down = await connectRedis({ ...target(r), port: 1, address: '127.0.0.1:1' }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(RedisSourceError);
    expect((down as Error).message).toMatch(/cannot connect to Redis at 127\.0\.0\.1:1 \(source test\): .*ECONNREFUSED/);
    const secured = await startRedis({ config: { requirepass: 's3cret-pass' } });
    cleanups.push(() => secured.cleanup());
    process.env.PBK_TEST_REDIS_PASSWORD = 'wrong';
    const wrong = await connectRedis(target(secured, { password: { env: 'PBK_TEST_REDIS_PASSWORD' } })).then(
      async (c) => {
        try {
          return await c.call('PING');
        } finally {
          await c.close();
        }
      },
      (e: unknown) => e,
    );
    expect((wrong as Error).message).toMatch(/WRONGPASS|invalid/i);
    expect((wrong as Error).message).not.toContain('wrong');
    process.env.PBK_TEST_REDIS_PASSWORD = 's3cret-pass';
    const ok = await connectRedis(target(secured, { password: { env: 'PBK_TEST_REDIS_PASSWORD' } }));
    expect(await ok.call('PING')).toBe('PONG');
    await ok.close();
  });
});
