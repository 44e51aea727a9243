/**
 * PostgreSQL backups that go wrong, and logical dumps, end to end with real
 * processes (pbk-coordinator, pbk-agent run, a PostgreSQL 15 cluster with
 * scram-sha-256 password authentication):
 * - a wrong password: the run fails UNAUTHENTICATED with what to fix, the
 *   password never appears in the agent's or coordinator's output;
 * - the database stopped in the middle of a base backup: the job fails with
 *   a clear error, no snapshot is committed, BACKUP_FAILED is raised, Status
 *   shows the source failing, and the repository verifies clean;
 * - a logical backup (pg_dump -Fd per database + globals) restored with
 *   `pbk restore postgres-logical` into a fresh database, rows compared.
 *
 * Needs the built dist/ of coordinator, agent and CLI (npm run build).
 */
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import { built, PbkSystem } from './pg-harness.js';

const PASSWORD = 'Right-horse-battery-91';
const WRONG = 'wrong-password-zz17';
const sys = new PbkSystem();
let cluster: PgCluster;

async function sql<T extends Record<string, unknown>>(text: string, db = 'postgres'): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', password: PASSWORD, database: db });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

/** The agent's TMPDIR: where pg_dump's scratch directories go. */
const agentTmp = (): string => join(sys.base, 'tmp');

describe('postgres: failing base backups and logical dumps', () => {
  it('has the built programs', () => {
    expect(built(), 'build first: npx nx run-many -t build').toBe(true);
  });

  beforeAll(async () => {
    await sys.start();
    await mkdir(agentTmp(), { mode: 0o700 });
    cluster = await startPgCluster({ settings: { password_encryption: "'scram-sha-256'" } });
    await cluster.query(`ALTER USER postgres PASSWORD '${PASSWORD}'`);
    await writeFile(join(cluster.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n');
    await cluster.query('SELECT pg_reload_conf()');
    await sql('CREATE DATABASE shop');
    await sql("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL, note text)", 'shop');
    await sql("INSERT INTO orders (item, qty, note) SELECT 'item-' || g, g % 7, md5(g::text) FROM generate_series(1, 5000) g", 'shop');
    await sql('CREATE TABLE customers (id int PRIMARY KEY, name text)', 'shop');
    await sql("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 300) g", 'shop');
    await sql("CREATE ROLE reporting LOGIN PASSWORD 'x'");
    // ~40 MB of data that does not compress away, so a rate-limited base backup takes long enough to be interrupted.
    await sql("CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS filler FROM generate_series(1, 350000) g");
    await writeFile(join(sys.base, 'pg.pass'), `${PASSWORD}\n`);
    await writeFile(join(sys.base, 'wrong.pass'), `${WRONG}\n`);
    await chmod(join(sys.base, 'pg.pass'), 0o600);
    await chmod(join(sys.base, 'wrong.pass'), 0o600);
    const common = `    kind: postgres
    host: 127.0.0.1
    port: ${cluster.port}
    user: postgres
    baseSchedule: null
    logicalSchedule: null
    wal: { enabled: false }`;
    await sys.startAgent(`sources:
  - name: locked
${common}
    passwordFile: ${join(sys.base, 'wrong.pass')}
  - name: fragile
${common}
    passwordFile: ${join(sys.base, 'pg.pass')}
    baseMaxRateBytes: 3000000
  - name: dumps
${common}
    passwordEnv: PBK_TEST_PG_PASSWORD
    databases: [shop, postgres]
    jobs: 2
`, { PBK_TEST_PG_PASSWORD: PASSWORD, TMPDIR: agentTmp() });
  });

  afterAll(async () => {
    await sys.stop();
    await cluster?.cleanup();
    await stopAllPgClusters();
  });

  it('a wrong password fails the run with UNAUTHENTICATED and what to fix; the password is never printed', async () => {
    await expect(sys.backup('locked')).rejects.toMatchObject({ details: expect.stringMatching(/refused the credentials of postgres@127\.0\.0\.1:\d+ \(source locked\).*passwordFile/) });
    expect(await sys.snapshots('locked')).toEqual([]);
    const status = await sys.status();
    const s = status.sources.find((x) => x.source?.name === 'locked');
    expect(s?.state).toBe('failing');
    expect(s?.lastFailure?.code).toBe('UNAUTHENTICATED');
    await sys.coord!.waitFor((l) => l.includes('"alert BACKUP_FAILED"') && l.includes('locked'), 10_000);
    const everything = [...sys.agent!.lines, ...sys.coord!.lines].join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(WRONG);
  });

  it('the database stopping mid base backup fails the job clearly; nothing is committed; the repository verifies clean', async () => {
    const err = await sys.backupWithServerStopped('fragile', cluster, 1500);
    expect(err).toMatchObject({ details: expect.stringMatching(/pg_basebackup: the PostgreSQL server at postgres@127\.0\.0\.1:\d+ stopped, restarted or is unreachable \(source fragile\).*Nothing was committed/) });
    expect(await sys.snapshots('fragile')).toEqual([]);
    const s = (await sys.status()).sources.find((x) => x.source?.name === 'fragile');
    expect(s?.state).toBe('failing');
    expect(s?.lastFailure?.code).toBe('FAILED_PRECONDITION');
    await sys.coord!.waitFor((l) => l.includes('"alert BACKUP_FAILED"') && l.includes('fragile'), 10_000);
    // The agent reports the failure in its health too.
    const report = await sys.verify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // And the next run succeeds: nothing half-done stands in its way.
    const ok = await sys.backup('fragile');
    expect(ok.labels.type).toBe('base');
  });

  it('takes a logical backup (pg_dump -Fd per database, globals) and restores one database with pg_restore -j', async () => {
    const r = await sys.cli(['backup', 'now', '--host', sys.host, '--source', 'dumps', '--logical', '--wait', '--json']);
    expect(r.code, r.out).toBe(0);
    const snap = (JSON.parse(r.stdout) as { snapshot: { labels: Record<string, string> } }).snapshot;
    expect(snap.labels.type).toBe('logical');
    expect(snap.labels.databases).toBe('shop,postgres');
    expect(snap.labels.table_counts).toContain('shop:2');
    // A base backup of the same source is another series; restoring postgres-logical picks the dump.
    await sql('CREATE DATABASE shop_restored');
    // The target host supplies the password from a passfile, never the command line.
    const passfile = join(sys.base, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${cluster.port}:*:postgres:${PASSWORD}\n`, { mode: 0o600 });
    await sys.stopAgent();
    await sys.startAgent(
      `sources:
  - name: dumps
    kind: postgres
    host: 127.0.0.1
    port: ${cluster.port}
    user: postgres
    baseSchedule: null
    logicalSchedule: null
    wal: { enabled: false }
    passwordEnv: PBK_TEST_PG_PASSWORD
`,
      { PBK_TEST_PG_PASSWORD: PASSWORD, PGPASSFILE: passfile, TMPDIR: agentTmp() },
    );
    const withPassword = await sys.cli(['restore', 'postgres-logical', '--host', sys.host, '--source', 'dumps', '--db', 'shop', '--into', `host=127.0.0.1 port=${cluster.port} password=x dbname=shop_restored`]);
    expect(withPassword.code).toBe(2);
    const missing = await sys.cli(['restore', 'postgres-logical', '--host', sys.host, '--source', 'dumps', '--db', 'nosuchdb', '--into', `host=127.0.0.1 port=${cluster.port} user=postgres dbname=shop_restored`]);
    expect(missing.code, missing.out).not.toBe(0);
    expect(missing.out).toContain('no logical dump of database "nosuchdb"');
    const res = await sys.cli(['restore', 'postgres-logical', '--host', sys.host, '--source', 'dumps', '--db', 'shop', '--into', `host=127.0.0.1 port=${cluster.port} user=postgres dbname=shop_restored`, '--jobs', '2', '--json']);
    expect(res.code, res.out).toBe(0);
    const doc = JSON.parse(res.stdout) as { restore: { facts: Record<string, string> } };
    expect(doc.restore.facts).toMatchObject({ database: 'shop', jobs: '2', tables: '2' });
    const count = async (db: string): Promise<unknown> => (await sql<{ n: string; s: string }>("SELECT count(*)::text AS n, sum(qty)::text || md5(string_agg(note, ',' ORDER BY id)) AS s FROM orders", db))[0];
    expect(await count('shop_restored')).toEqual(await count('shop'));
    expect((await sql<{ n: string }>('SELECT count(*)::text AS n FROM customers', 'shop_restored'))[0]!.n).toBe('300');
    // No plaintext dump is left in the agent's temp space (its own, so other test runs on the machine cannot interfere).
    expect(await readdir(agentTmp())).toEqual([]);
  });
});
