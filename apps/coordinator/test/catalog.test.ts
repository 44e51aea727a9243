/**
 * One catalog suite, run against both engines (DESIGN decision 6): embedded
 * PGlite in a temp dir, and the real PostgreSQL server in a fresh database
 * created for this run and dropped after. The server is never skipped: if it
 * is down, the suite fails and says how to start it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotWithId, SourceRef } from '@pbk/storage';
import { openCatalog, type Catalog, type CatalogOptions } from '../src/catalog/catalog.js';
import { openEmbeddedCatalog, redactUrl, type SqlDb } from '../src/catalog/db.js';
import { migrate, SCHEMA_VERSION } from '../src/catalog/migrations.js';
import { EnrollmentTokenError, SchemaTooNewError } from '../src/catalog/errors.js';
import { GENESIS_HASH } from '../src/catalog/audit.js';

const ADMIN_URL = process.env.PBK_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const logger = pino({ level: 'silent' });

class TestClock {
  t = Date.parse('2025-03-01T12:00:00.000Z');
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

interface Engine {
  name: 'embedded' | 'postgres';
  setup(): Promise<Pick<CatalogOptions, 'url' | 'dir'>>;
  teardown(): Promise<void>;
}

function embeddedEngine(): Engine {
  let dir = '';
  return {
    name: 'embedded',
    async setup() {
      dir = await mkdtemp(join(tmpdir(), 'pbk-catalog-test-'));
      return { dir: join(dir, 'catalog') };
    },
    async teardown() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

function postgresEngine(): Engine {
  const database = `pbk_catalog_test_${randomBytes(6).toString('hex')}`;
  let created = false;
  async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${redactUrl(ADMIN_URL)} (${(err as Error).message || String((err as { code?: string }).code)}). ` +
          'This suite tests the catalog against the real server and never skips it: start the services with ../shared/services.sh ' +
          '(run from the repository root; it prints what it does), or on a plain Debian machine `apt-get install postgresql` ' +
          'and allow trust auth for root on 127.0.0.1, or point PBK_TEST_POSTGRES_URL at a server where you may CREATE DATABASE.',
        { cause: err },
      );
    }
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
  return {
    name: 'postgres',
    async setup() {
      await admin((c) => c.query(`CREATE DATABASE ${database}`));
      created = true;
      const url = new URL(ADMIN_URL);
      url.pathname = `/${database}`;
      return { url: url.toString() };
    },
    async teardown() {
      if (created) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    },
  };
}

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

function snapshot(n: number, source: SourceRef, time: string, extra: Partial<SnapshotWithId> = {}): SnapshotWithId {
  return {
    id: hex(`snapshot ${n}`),
    version: 1,
    time,
    source,
    tags: [`t${n % 3}`],
    tree: hex(`tree ${n}`),
    dekId: hex(`dek ${n}`).slice(0, 32),
    summary: { files: n, dirs: 1, bytesTotal: n * 1000, bytesRead: n * 10, blobsNew: n, bytesNewStored: n * 5, durationMs: 7, errors: [] },
    ...extra,
  };
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<unknown> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${code} error`).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  if (message) expect((err as Error).message).toMatch(message);
  return err;
}

describe.each([embeddedEngine(), postgresEngine()])('catalog on $name', (engine) => {
  const clock = new TestClock();
  let where: Pick<CatalogOptions, 'url' | 'dir'>;
  let catalog: Catalog;
  let db: SqlDb;

  beforeAll(async () => {
    where = await engine.setup();
    catalog = await openCatalog({ ...where, logger, now: clock.now });
    db = catalog.db;
  });

  afterAll(async () => {
    await catalog?.close();
    await engine.teardown();
  });

  describe('SQL handle', () => {
    it('commits, rolls back, and rethrows what the callback threw', async () => {
      await db.exec('CREATE TABLE scratch (k text PRIMARY KEY, v integer NOT NULL)');
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO scratch VALUES ($1, $2)', ['committed', 1]);
      });
      const boom = new Error('boom');
      const thrown = await db
        .transaction(async (tx) => {
          await tx.query('INSERT INTO scratch VALUES ($1, $2)', ['rolled-back', 1]);
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(thrown).toBe(boom);
      const rows = await db.query<{ k: string }>('SELECT k FROM scratch ORDER BY k');
      expect(rows.map((r) => r.k)).toEqual(['committed']);
    });

    it('does not commit a transaction whose callback swallowed a failed statement', async () => {
      const err = await db
        .transaction(async (tx) => {
          await tx.query('INSERT INTO scratch VALUES ($1, $2)', ['swallowed', 1]);
          await tx.query('SELECT 1/0').catch(() => undefined);
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(await db.query('SELECT k FROM scratch WHERE k = $1', ['swallowed'])).toEqual([]);
    });

    it('nests transactions as savepoints', async () => {
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO scratch VALUES ($1, $2)', ['outer', 1]);
        await tx
          .transaction(async (inner) => {
            await inner.query('INSERT INTO scratch VALUES ($1, $2)', ['inner', 1]);
            throw new Error('inner fails');
          })
          .catch(() => undefined);
        // The failed savepoint did not abort the outer transaction.
        await tx.query('INSERT INTO scratch VALUES ($1, $2)', ['after', 1]);
      });
      const rows = await db.query<{ k: string }>(`SELECT k FROM scratch WHERE k IN ('outer', 'inner', 'after') ORDER BY k`);
      expect(rows.map((r) => r.k)).toEqual(['after', 'outer']);
      // Three levels deep, with siblings started together.
      await db.transaction((tx) =>
        tx.transaction((l2) =>
          Promise.all([1, 2].map((i) => l2.transaction((l3) => l3.query('INSERT INTO scratch VALUES ($1, $2)', [`deep-${i}`, i])))),
        ),
      );
      expect(await db.query(`SELECT k FROM scratch WHERE k LIKE 'deep-%' ORDER BY k`)).toEqual([{ k: 'deep-1' }, { k: 'deep-2' }]);
    });

    it('refuses the outer handle inside its own transaction instead of deadlocking', async () => {
      let late: SqlDb | undefined;
      await db.transaction(async (tx) => {
        late = tx;
        await expectCode(db.query('SELECT 1'), 'INTERNAL', /use the `tx`/);
      });
      await expectCode(late!.query('SELECT 1'), 'INTERNAL', /already ended/);
      await expectCode(late!.close(), 'INTERNAL');
    });

    it('maps SQL failures to typed errors without leaking parameters', async () => {
      const err = await expectCode(db.query('INSERT INTO scratch VALUES ($1, $2)', ['committed', 2]), 'ALREADY_EXISTS');
      expect((err as Error).message).not.toContain('committed');
      await expectCode(db.query('SELECT $1::int', ['not-a-number']), 'INVALID_ARGUMENT');
    });

    it('serializes 20 concurrent read-modify-write transactions without losing one', async () => {
      await db.query('INSERT INTO scratch VALUES ($1, 0)', ['counter']);
      // Readers outside the transactions run meanwhile and only ever see committed values.
      let writersDone = false;
      const seen: number[] = [];
      const reader = (async () => {
        while (!writersDone) {
          const [r] = await db.query<{ v: number }>('SELECT v FROM scratch WHERE k = $1', ['counter']);
          seen.push(r!.v);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const [row] = await tx.query<{ v: number }>('SELECT v FROM scratch WHERE k = $1 FOR UPDATE', ['counter']);
            // Yield to the event loop mid-transaction: other callers run now, and must not interleave.
            await new Promise((r) => setTimeout(r, 2));
            await tx.query('UPDATE scratch SET v = $2 WHERE k = $1', ['counter', row!.v + 1]);
          }),
        ),
      ).finally(() => {
        writersDone = true;
      });
      await reader;
      expect(seen.length).toBeGreaterThan(0);
      expect([...seen].sort((x, y) => x - y)).toEqual(seen);
      const [row] = await db.query<{ v: number }>('SELECT v FROM scratch WHERE k = $1', ['counter']);
      expect(row!.v).toBe(20);
    });
  });

  describe('migrations', () => {
    it('are applied at open and idempotent when run again', async () => {
      const versions = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.map((v) => Number(v.version))).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      const again = await migrate(db, { logger, now: clock.now });
      expect(again).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    });

    it('refuse a schema newer than the code', async () => {
      await db.query(`INSERT INTO schema_migrations VALUES ($1, 'from the future', 'x', now())`, [SCHEMA_VERSION + 1]);
      try {
        const err = await expectCode(migrate(db, { logger, now: clock.now }), 'FAILED_PRECONDITION', /upgrade pbk-coordinator/);
        expect(err).toBeInstanceOf(SchemaTooNewError);
        expect(err).toMatchObject({ databaseVersion: SCHEMA_VERSION + 1, codeVersion: SCHEMA_VERSION });
      } finally {
        await db.query('DELETE FROM schema_migrations WHERE version = $1', [SCHEMA_VERSION + 1]);
      }
    });
  });

  describe('enrollment tokens', () => {
    it('are random, stored only as a hash, and work once', async () => {
      const issued = await catalog.tokens.issue('web-1', HOUR);
      expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(issued.token, 'base64url')).toHaveLength(32);
      expect(issued.expiresAt.getTime() - issued.issuedAt.getTime()).toBe(HOUR);
      const stored = await db.query<Record<string, unknown>>('SELECT * FROM enrollment_tokens WHERE host = $1', ['web-1']);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.token_hash).toBe(hex(issued.token));
      expect(JSON.stringify(stored)).not.toContain(issued.token);

      expect(await catalog.tokens.consume(issued.token)).toBe('web-1');
      const err = await expectCode(catalog.tokens.consume(issued.token), 'UNAUTHENTICATED', /already used/);
      expect(err).toBeInstanceOf(EnrollmentTokenError);
      expect(err).toMatchObject({ reason: 'already used' });
    });

    it('expire by the injected clock', async () => {
      const issued = await catalog.tokens.issue('web-2', 10 * 60_000);
      clock.advance(10 * 60_000);
      await expectCode(catalog.tokens.consume(issued.token), 'UNAUTHENTICATED', /expired/);
    });

    it('refuse unknown, malformed, revoked and other-host tokens, each saying why', async () => {
      await expectCode(catalog.tokens.consume(randomBytes(32).toString('base64url')), 'UNAUTHENTICATED', /unknown/);
      await expectCode(catalog.tokens.consume('not a token'), 'UNAUTHENTICATED', /unknown/);

      const revoked = await catalog.tokens.issue('web-3', HOUR);
      expect(await catalog.tokens.revoke('web-3')).toBe(1);
      await expectCode(catalog.tokens.consume(revoked.token), 'UNAUTHENTICATED', /revoked/);

      const forOther = await catalog.tokens.issue('web-4', HOUR);
      const err = await expectCode(catalog.tokens.consume(forOther.token, 'intruder'), 'UNAUTHENTICATED', /another host/);
      expect((err as Error).message).not.toContain('web-4');
      // A refused token is left as it was: its own host can still use it.
      expect(await catalog.tokens.consume(forOther.token, 'web-4')).toBe('web-4');
    });

    it('validate their input', async () => {
      await expectCode(catalog.tokens.issue('bad host/..', HOUR), 'INVALID_ARGUMENT');
      await expectCode(catalog.tokens.issue('web-5', 0), 'INVALID_ARGUMENT');
      await expectCode(catalog.tokens.issue('web-5', 365 * DAY), 'INVALID_ARGUMENT');
    });

    it('let exactly one of 10 concurrent consumers win', async () => {
      const issued = await catalog.tokens.issue('web-race', HOUR);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => catalog.tokens.consume(issued.token)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(9);
      for (const l of lost) expect(l.reason).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'already used' });
    });
  });

  describe('agents', () => {
    const cert = (serial: string) => ({
      certSerial: serial,
      certFingerprint: hex(`cert ${serial}`),
      certNotAfter: new Date(clock.t + 365 * DAY),
      agentVersion: '0.1.0',
    });

    it('enroll, heartbeat, list and get', async () => {
      const a = await catalog.agents.enroll({ host: 'db-1', ...cert('01') });
      expect(a).toMatchObject({ host: 'db-1', certSerial: '01', agentVersion: '0.1.0', lastHeartbeatAt: undefined, revokedAt: undefined });
      expect(a.enrolledAt).toEqual(clock.now());
      clock.advance(1000);
      const hb = await catalog.agents.heartbeat('db-1', '0.1.1');
      expect(hb.lastHeartbeatAt).toEqual(clock.now());
      expect(hb.agentVersion).toBe('0.1.1');
      expect((await catalog.agents.get('db-1'))?.lastHeartbeatAt).toEqual(clock.now());
      expect(await catalog.agents.get('nobody')).toBeUndefined();
      await expectCode(catalog.agents.heartbeat('nobody'), 'NOT_FOUND');
      await catalog.agents.enroll({ host: 'app-1', ...cert('02') });
      expect((await catalog.agents.list()).map((x) => x.host)).toEqual(['app-1', 'db-1']);
    });

    it('retire the old certificate when a host enrolls again', async () => {
      await catalog.agents.enroll({ host: 'db-1', ...cert('03') });
      expect(await catalog.agents.isRevoked('01')).toBe(true);
      expect(await catalog.agents.isRevoked('03')).toBe(false);
      expect((await catalog.agents.get('db-1'))?.lastHeartbeatAt).toBeUndefined();
      await expectCode(catalog.agents.enroll({ host: 'db-1', ...cert('01') }), 'FAILED_PRECONDITION', /new certificate/);
      await expectCode(catalog.agents.enroll({ host: 'db-2', ...cert('02') }), 'ALREADY_EXISTS');
    });

    it('revoke: the serial is refused and heartbeats are denied', async () => {
      const r = await catalog.agents.revoke('app-1');
      expect(r.revokedAt).toEqual(clock.now());
      clock.advance(1000);
      expect((await catalog.agents.revoke('app-1')).revokedAt).toEqual(r.revokedAt);
      expect(await catalog.agents.isRevoked('02')).toBe(true);
      await expectCode(catalog.agents.heartbeat('app-1'), 'PERMISSION_DENIED', /enroll it again/);
      expect((await catalog.agents.list({ includeRevoked: false })).map((x) => x.host)).toEqual(['db-1']);
      await expectCode(catalog.agents.revoke('nobody'), 'NOT_FOUND');
      // A new token and certificate bring it back.
      const back = await catalog.agents.enroll({ host: 'app-1', ...cert('04') });
      expect(back.revokedAt).toBeUndefined();
    });
  });

  describe('backup runs', () => {
    const src: SourceRef = { host: 'db-1', kind: 'postgres', name: 'main' };
    const summary = (snapshotId: string) => ({ snapshotId, bytesTotal: 5_000_000_000, bytesNew: 1234, files: 42, bytesStored: 777 });

    it('go from running to committed or failed, once', async () => {
      const run = await catalog.runs.begin({ source: src, mode: 'full', dekId: 'dek-a' });
      expect(run).toMatchObject({ state: 'running', source: src, mode: 'full', dekId: 'dek-a', resumedCount: 0, finishedAt: undefined });
      expect((await catalog.runs.listRunning()).map((r) => r.id)).toContain(run.id);
      expect((await catalog.runs.listRunning('other-host')).map((r) => r.id)).not.toContain(run.id);

      expect((await catalog.runs.markResumed(run.id)).resumedCount).toBe(1);
      clock.advance(60_000);
      const done = await catalog.runs.markCommitted(run.id, summary(hex('s1')));
      expect(done).toMatchObject({ state: 'committed', snapshotId: hex('s1'), bytesTotal: 5_000_000_000, bytesNew: 1234, files: 42, bytesStored: 777 });
      expect(done.finishedAt).toEqual(clock.now());
      // A retried commit with the same snapshot is a no-op; anything else is refused.
      expect((await catalog.runs.markCommitted(run.id, summary(hex('s1')))).finishedAt).toEqual(done.finishedAt);
      await expectCode(catalog.runs.markCommitted(run.id, summary(hex('s2'))), 'FAILED_PRECONDITION', /already committed/);
      await expectCode(catalog.runs.markFailed(run.id, 'IO', 'disk'), 'FAILED_PRECONDITION');
      await expectCode(catalog.runs.markResumed(run.id), 'FAILED_PRECONDITION');
      expect((await catalog.runs.listRunning()).map((r) => r.id)).not.toContain(run.id);
      expect(await catalog.runs.get(run.id)).toEqual(done);

      const bad = await catalog.runs.begin({ source: src, mode: 'incremental', dekId: 'dek-b' });
      const failed = await catalog.runs.markFailed(bad.id, 'UNAVAILABLE', 'agent went away');
      expect(failed).toMatchObject({ state: 'failed', errorCode: 'UNAVAILABLE', errorMessage: 'agent went away' });

      expect(await catalog.runs.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();

      // Stored bytes add up per upload stream while the run runs (unknown before the first), and stop at its end.
      const counted = await catalog.runs.begin({ source: src, mode: 'full', dekId: 'dek-c' });
      expect(counted.bytesStored).toBeUndefined();
      await catalog.runs.addStoredBytes(counted.id, 1000);
      await catalog.runs.addStoredBytes(counted.id, 24);
      expect((await catalog.runs.get(counted.id))?.bytesStored).toBe(1024);
      await catalog.runs.markFailed(counted.id, 'CANCELLED', 'test');
      await catalog.runs.addStoredBytes(counted.id, 5);
      expect((await catalog.runs.get(counted.id))?.bytesStored).toBe(1024);
      await expectCode(catalog.runs.addStoredBytes(counted.id, -1), 'INVALID_ARGUMENT');
      expect(await catalog.runs.get('not-a-uuid')).toBeUndefined();
      await expectCode(catalog.runs.markCommitted('00000000-0000-4000-8000-000000000000', summary(hex('x'))), 'NOT_FOUND');
      await expectCode(catalog.runs.begin({ source: { ...src, kind: 'mysql' as 'files' }, mode: 'full', dekId: 'd' }), 'INVALID_ARGUMENT');
    });

    it('report success rate, last success and last failure per source', async () => {
      const s: SourceRef = { host: 'db-9', kind: 'files', name: '/etc' };
      const finish = async (outcome: 'ok' | 'fail' | 'abandon', n: number) => {
        const r = await catalog.runs.begin({ source: s, mode: 'incremental', dekId: `dek-${n}` });
        clock.advance(1000);
        if (outcome === 'ok') return catalog.runs.markCommitted(r.id, summary(hex(`rate ${n}`)));
        if (outcome === 'fail') return catalog.runs.markFailed(r.id, 'INTERNAL', `failure ${n}`);
        return catalog.runs.markAbandoned(r.id, 'coordinator restarted');
      };
      expect(await catalog.runs.successRate(s, DAY)).toEqual({ committed: 0, failed: 0, total: 0, rate: undefined });
      await finish('fail', 0); // will fall out of the 24 h window
      clock.advance(2 * DAY);
      const ok1 = await finish('ok', 1);
      await finish('fail', 2);
      await finish('abandon', 3);
      const ok4 = await finish('ok', 4);
      const ok5 = await finish('ok', 5);
      await catalog.runs.begin({ source: s, mode: 'full', dekId: 'still running' });
      expect(await catalog.runs.successRate(s, DAY)).toEqual({ committed: 3, failed: 2, total: 5, rate: 0.6 });
      expect(await catalog.runs.successRate(s, 7 * DAY)).toEqual({ committed: 3, failed: 3, total: 6, rate: 0.5 });
      expect((await catalog.runs.lastSuccess(s))?.id).toBe(ok5.id);
      expect((await catalog.runs.lastFailure(s))?.state).toBe('abandoned');
      expect(ok1.id).not.toBe(ok4.id);
      expect(await catalog.runs.lastSuccess({ ...s, name: '/nothing' })).toBeUndefined();
    });
  });

  describe('snapshots', () => {
    const a: SourceRef = { host: 'web-1', kind: 'files', name: '/srv' };
    const b: SourceRef = { host: 'db-1', kind: 'postgres', name: 'main' };
    const base = Date.parse('2025-01-01T00:00:00.000Z');
    const all: SnapshotWithId[] = [];

    beforeAll(async () => {
      for (let n = 0; n < 25; n++) {
        // Pairs share a time, so pagination must break ties by id.
        const time = new Date(base + Math.floor(n / 2) * HOUR).toISOString();
        const s = snapshot(n, n % 3 === 0 ? b : a, time, n === 4 ? { parent: hex('snapshot 2'), paths: ['/srv'], meta: { lsn: '0/16B3748', nested: { k: [1, 2] } } } : {});
        all.push(s);
        expect(await catalog.snapshots.put(s)).toBe(true);
      }
      all.sort((x, y) => y.time.localeCompare(x.time) || y.id.localeCompare(x.id));
    });

    it('round-trip through put and get, and put is idempotent', async () => {
      const s = all.find((x) => x.parent !== undefined)!;
      expect(await catalog.snapshots.get(s.id)).toEqual(s);
      expect(await catalog.snapshots.put(s)).toBe(false);
      expect(await catalog.snapshots.get(hex('missing'))).toBeUndefined();
      await expectCode(catalog.snapshots.put({ ...s, id: 'XYZ' }), 'INVALID_ARGUMENT');
    });

    it('list newest first in pages that add up to the whole', async () => {
      const seen: SnapshotWithId[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await catalog.snapshots.list({ limit: 10, ...(pageToken ? { pageToken } : {}) });
        seen.push(...page.snapshots);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== undefined);
      expect(pages).toBe(3);
      expect(seen.map((s) => s.id)).toEqual(all.map((s) => s.id));
      // An exact multiple of the page size ends without an empty page.
      const first = await catalog.snapshots.list({ limit: 25 });
      expect(first.snapshots).toHaveLength(25);
      expect(first.nextPageToken).toBeUndefined();
      await expectCode(catalog.snapshots.list({ pageToken: 'garbage' }), 'INVALID_ARGUMENT', /page token/);
      await expectCode(catalog.snapshots.list({ limit: 0 }), 'INVALID_ARGUMENT');
    });

    it('filter by host, kind, name and an inclusive time range', async () => {
      const ids = (xs: SnapshotWithId[]) => xs.map((s) => s.id);
      expect(ids((await catalog.snapshots.list({ host: 'db-1' })).snapshots)).toEqual(ids(all.filter((s) => s.source.host === 'db-1')));
      expect(ids((await catalog.snapshots.list({ kind: 'files', name: '/srv' })).snapshots)).toEqual(ids(all.filter((s) => s.source.kind === 'files')));
      expect((await catalog.snapshots.list({ name: '/nope' })).snapshots).toEqual([]);
      const since = new Date(base + 3 * HOUR);
      const until = new Date(base + 6 * HOUR);
      const inRange = all.filter((s) => Date.parse(s.time) >= since.getTime() && Date.parse(s.time) <= until.getTime());
      expect(inRange).toHaveLength(8);
      expect(ids((await catalog.snapshots.list({ since, until })).snapshots)).toEqual(ids(inRange));
      const page1 = await catalog.snapshots.list({ host: 'web-1', since, until, limit: 3 });
      const page2 = await catalog.snapshots.list({ host: 'web-1', since, until, limit: 3, pageToken: page1.nextPageToken! });
      expect(ids([...page1.snapshots, ...page2.snapshots])).toEqual(ids(inRange.filter((s) => s.source.host === 'web-1')));
      expect(await catalog.snapshots.count()).toBe(25);
      expect(await catalog.snapshots.count({ host: 'db-1' })).toBe(9);
      expect(await catalog.snapshots.count({ since, until })).toBe(8);
    });

    it('find the newest snapshot at or before a time', async () => {
      const ofB = all.filter((s) => s.source.host === 'db-1'); // newest first
      const exact = ofB[2]!;
      expect((await catalog.snapshots.findAtOrBefore(b, new Date(exact.time)))?.id).toBe(exact.id);
      expect((await catalog.snapshots.findAtOrBefore(b, new Date(Date.parse(exact.time) + 1)))?.id).toBe(exact.id);
      expect((await catalog.snapshots.findAtOrBefore(b, new Date(Date.parse(exact.time) - 1)))?.id).toBe(ofB[3]!.id);
      expect((await catalog.snapshots.findAtOrBefore(b, new Date('2030-01-01T00:00:00Z')))?.id).toBe(ofB[0]!.id);
      expect(await catalog.snapshots.findAtOrBefore(b, new Date(base - 1))).toBeUndefined();
      expect(await catalog.snapshots.findAtOrBefore({ ...b, name: 'other' }, new Date('2030-01-01T00:00:00Z'))).toBeUndefined();
    });

    it('delete', async () => {
      const victim = all[0]!;
      expect(await catalog.snapshots.delete(victim.id)).toBe(true);
      expect(await catalog.snapshots.delete(victim.id)).toBe(false);
      expect(await catalog.snapshots.get(victim.id)).toBeUndefined();
      expect(await catalog.snapshots.count()).toBe(24);
    });
  });

  describe('audit log', () => {
    it('chains entries and verifies the chain', async () => {
      const first = await catalog.audit.append({ actor: 'admin', action: 'token.issue', target: 'web-1', details: { ttlMs: HOUR } });
      expect(first.prevHash).toBe(GENESIS_HASH);
      const second = await catalog.audit.append({ actor: 'coordinator', action: 'key.create', target: 'dek-1', details: { kek: 1, at: new Date(0), skip: undefined } });
      expect(second.prevHash).toBe(first.hash);
      expect(second.details).toEqual({ kek: 1, at: '1970-01-01T00:00:00.000Z' });
      // The documented formula, computed independently of the module.
      const body = `{"action":"key.create","actor":"coordinator","at":"${second.at.toISOString()}","details":{"at":"1970-01-01T00:00:00.000Z","kek":1},"prev_hash":"${first.hash}","seq":${second.seq},"target":"dek-1"}`;
      expect(second.hash).toBe(createHash('sha256').update(first.hash + body).digest('hex'));
      expect(await catalog.audit.verifyChain()).toEqual({ ok: true, entries: 2 });
      expect(await catalog.audit.head()).toEqual({ seq: second.seq, hash: second.hash });
      await expectCode(catalog.audit.append({ actor: 'admin', action: 'key.steal' as 'restore', target: 'x' }), 'INVALID_ARGUMENT');
    });

    it('stays one chain under 20 concurrent appends', async () => {
      const before = (await catalog.audit.verifyChain()).entries;
      const actions = ['key.unwrap', 'key.rotate', 'key.destroy', 'restore', 'snapshot.delete', 'enroll'] as const;
      const records = await Promise.all(
        Array.from({ length: 20 }, (_, i) => catalog.audit.append({ actor: `agent:web-${i}`, action: actions[i % actions.length]!, target: `t${i}`, details: { i } })),
      );
      expect(new Set(records.map((r) => r.seq)).size).toBe(20);
      expect(new Set(records.map((r) => r.prevHash)).size).toBe(20);
      expect(await catalog.audit.verifyChain()).toEqual({ ok: true, entries: before + 20 });
      const listed = await catalog.audit.list({ limit: 1000 });
      expect(listed).toHaveLength(before + 20);
    });

    it('refuses edits in SQL, and detects an edit made with the triggers disabled', async () => {
      const [victim] = await catalog.audit.list({ afterSeq: 3, limit: 1 });
      await expectCode(db.query('UPDATE audit_log SET target = $1 WHERE seq = $2', ['forged', victim!.seq]), 'PERMISSION_DENIED');
      await expectCode(db.query('DELETE FROM audit_log WHERE seq = $1', [victim!.seq]), 'PERMISSION_DENIED');
      const entries = (await catalog.audit.verifyChain()).entries;

      const tamper = async (sql: string, params: unknown[]) => {
        await db.exec('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update');
        try {
          await db.query(sql, params);
        } finally {
          await db.exec('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update');
        }
      };
      await tamper('UPDATE audit_log SET target = $1 WHERE seq = $2', ['forged', victim!.seq]);
      expect(await catalog.audit.verifyChain()).toEqual({ ok: false, entries: 4, firstBadSeq: victim!.seq });
      await tamper(`UPDATE audit_log SET details = details || '{"i": 99}'::jsonb WHERE seq = $1`, [victim!.seq]);
      expect((await catalog.audit.verifyChain()).firstBadSeq).toBe(victim!.seq);
      await tamper('UPDATE audit_log SET target = $1, details = $2::jsonb WHERE seq = $3', [victim!.target, JSON.stringify(victim!.details), victim!.seq]);
      expect(await catalog.audit.verifyChain()).toEqual({ ok: true, entries });

      // A row removed from the middle breaks the link of the row after it.
      const [next] = await catalog.audit.list({ afterSeq: victim!.seq, limit: 1 });
      await tamper('DELETE FROM audit_log WHERE seq = $1', [victim!.seq]);
      expect(await catalog.audit.verifyChain()).toMatchObject({ ok: false, firstBadSeq: next!.seq });
      await db.query('INSERT INTO audit_log VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)', [
        victim!.seq,
        victim!.at.toISOString(),
        victim!.actor,
        victim!.action,
        victim!.target,
        JSON.stringify(victim!.details),
        victim!.prevHash,
        victim!.hash,
      ]);
      expect(await catalog.audit.verifyChain()).toEqual({ ok: true, entries });
    });
  });

  describe('transactions across stores', () => {
    it('enroll with a token all-or-nothing', async () => {
      const issued = await catalog.tokens.issue('cache-1', HOUR);
      const enrollment = (fail: boolean) =>
        catalog.transaction(async (tx) => {
          const host = await tx.tokens.consume(issued.token, 'cache-1');
          const agent = await tx.agents.enroll({ host, certSerial: fail ? 'f1' : 'c1', certFingerprint: hex('c1'), certNotAfter: new Date(clock.t + DAY), agentVersion: '0.1.0' });
          await tx.audit.append({ actor: `agent:${host}`, action: 'enroll', target: host, details: { serial: agent.certSerial } });
          if (fail) throw new Error('certificate signing failed');
          return agent;
        });
      await expect(enrollment(true)).rejects.toThrow('certificate signing failed');
      expect(await catalog.agents.get('cache-1')).toBeUndefined();
      expect((await catalog.audit.list({ limit: 1000 })).some((r) => r.target === 'cache-1')).toBe(false);
      // The token was not spent by the failed attempt.
      expect((await enrollment(false)).certSerial).toBe('c1');
      await expectCode(catalog.tokens.consume(issued.token), 'UNAUTHENTICATED', /already used/);
      expect((await catalog.audit.verifyChain()).ok).toBe(true);
    });
  });

  describe('reopen', () => {
    it('keeps the data, and migrations do nothing the second time', async () => {
      const entries = (await catalog.audit.verifyChain()).entries;
      if (engine.name === 'embedded') {
        // One process at a time on an embedded catalog: a second opener is told who holds it.
        await expectCode(openEmbeddedCatalog(where.dir!), 'FAILED_PRECONDITION', new RegExp(`process ${process.pid}`));
      }
      await catalog.close();
      await expectCode(catalog.db.query('SELECT 1'), 'UNAVAILABLE', /closed/);
      const started = Date.now();
      catalog = await openCatalog({ ...where, logger, now: clock.now });
      db = catalog.db;
      const reopenMs = Date.now() - started;
      expect(reopenMs).toBeLessThan(30_000);
      expect(await migrate(db, { logger, now: clock.now })).toMatchObject({ applied: [] });
      expect((await catalog.agents.get('db-1'))?.certSerial).toBe('03');
      expect(await catalog.snapshots.count()).toBe(24);
      expect(await catalog.audit.verifyChain()).toEqual({ ok: true, entries });
      expect((await catalog.runs.successRate({ host: 'db-9', kind: 'files', name: '/etc' }, 7 * DAY)).total).toBe(6);
    });
  });
});
