/**
 * A cluster with a tablespace outside its data directory, end to end with
 * real processes: the agent streams it with BASE_BACKUP over a replication
 * connection (pg_basebackup -D - cannot), rows keep arriving in the
 * tablespace after the backup, and a restore --latest brings every row
 * back with the tablespace inside the target directory (pg_tblspc/<oid> as
 * a directory, PostgreSQL's in-place layout): nothing is written to the
 * original tablespace's directory, which the source cluster still uses.
 *
 * Needs the built dist/ of coordinator, agent and CLI (npm run build).
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgOsIds, pgTempDir, runAsPg, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import { itHasThePgPrograms, PbkSystem, postgresSourceYaml } from './pg-harness.js';

const sys = new PbkSystem();
let pg: PgCluster;
let restoreRoot = '';
let place = '';
const restored: string[] = [];

async function query<T>(port: number, sql: string): Promise<T[]> {
  const { Client } = (await import('pg')).default;
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Every file under `dir` (relative paths), to show a restore left the original tablespace alone. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('postgres: a cluster with a tablespace outside the data directory', () => {
  itHasThePgPrograms();

  beforeAll(async () => {
    pg = await startPgCluster();
    restoreRoot = await pgTempDir('pbk-pg-restore-');
    place = await pgTempDir('pbk-pg-tblspc-');
    await pg.query(`CREATE TABLESPACE outside LOCATION '${place}'`);
    await pg.query('CREATE TABLE far (id int PRIMARY KEY, v text) TABLESPACE outside');
    await pg.query('INSERT INTO far SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, 20000) g');
    await sys.start();
    await sys.startAgent(`sources:\n${postgresSourceYaml('main', pg.port)}${postgresSourceYaml('slow', pg.port, ['baseMaxRateBytes: 1048576', 'wal: { enabled: false }'])}`);
  });

  afterAll(async () => {
    for (const d of restored) await runAsPg('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop'], { allowFailure: true }).catch(() => undefined);
    await sys.stop();
    if (restoreRoot) await rm(restoreRoot, { recursive: true, force: true });
    await pg?.cleanup();
    if (place) await rm(place, { recursive: true, force: true });
    await stopAllPgClusters();
  });

  it('backs up the tablespace, replays WAL into it and restores it where mapped, refusing the live original', async () => {
    const oid = (await pg.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_tablespace WHERE spcname = 'outside'"))[0]!.oid;
    const base = await sys.backup('main');
    expect(base.labels.tablespace_map).toBe(`${oid} ${place}\n`);
    expect(base.labels.wal_durable).toBe('true');
    // Rows after the backup reach the tablespace through WAL replay only.
    await pg.query('INSERT INTO far SELECT g, repeat(md5(g::text), 10) FROM generate_series(20001, 25000) g');
    await pg.query("UPDATE far SET v = 'changed' WHERE id % 100 = 0");
    await pg.query('SELECT pg_switch_wal()');
    const want = await pg.query<{ n: string; changed: string }>("SELECT count(*)::text AS n, count(*) FILTER (WHERE v = 'changed')::text AS changed FROM far");
    const before = await listing(place);

    const dir = join(restoreRoot, 'latest');
    // Back where it was: the source cluster's live tablespace. Refused, nothing written.
    await expect(sys.restore({ source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, postgres: { targetDir: dir, start: true } })).rejects.toMatchObject({
      code: 9,
      details: expect.stringMatching(/tablespace outside would go to .*, which is not empty \(it is where the backed-up cluster keeps it.*--tablespace-map outside=DIR/),
    });
    expect(existsSync(dir)).toBe(false);
    // A mapping that names no tablespace is refused too.
    const wrong = await sys.cli(['restore', 'postgres', '--host', sys.host, '--source', 'main', '--latest', '--to', dir, '--tablespace-map', `nosuch=${restoreRoot}/x`]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toContain('"nosuch", which is not a tablespace of this base backup (it has: outside');
    expect(existsSync(dir)).toBe(false);

    const moved = join(restoreRoot, 'moved-outside');
    restored.push(dir);
    const r = await sys.cli(['restore', 'postgres', '--host', sys.host, '--source', 'main', '--latest', '--to', dir, '--start', '--tablespace-map', `outside=${moved}`, '--json']);
    expect(r.code, r.out).toBe(0);
    const done = (JSON.parse(r.stdout) as { restore: { snapshot: { id: string }; facts: Record<string, string> } }).restore;
    expect(done.snapshot.id).toBe(base.id.toString('hex'));
    expect(done.facts.promoted).toBe('true');
    expect(done.facts.amcheck).toBe('ok');
    expect(done.facts.tablespaces).toBe(`outside=${moved}`);
    const port = Number(done.facts.port);
    const got = await query<{ n: string; changed: string }>(port, "SELECT count(*)::text AS n, count(*) FILTER (WHERE v = 'changed')::text AS changed FROM far");
    expect(got).toEqual(want);
    expect(want[0]!.n).toBe('25000');
    // pg_tblspc/<oid> links to the new place, where the table's file is, owned by PostgreSQL's user, mode 0700.
    expect((await lstat(join(dir, 'pg_tblspc', oid))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, 'pg_tblspc', oid))).toBe(moved);
    expect((await query<{ l: string }>(port, "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'outside'"))[0]!.l).toBe(moved);
    const where = await query<{ p: string }>(port, "SELECT pg_relation_filepath('far') AS p");
    const file = join(moved, where[0]!.p.split('/').slice(2).join('/'));
    expect((await lstat(file)).size).toBeGreaterThan(1024 * 1024);
    const st = await lstat(moved);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe((await pgOsIds()).uid);
    // The restored server writes there: the source's tablespace directory gained nothing.
    await query(port, "INSERT INTO far VALUES (99999, 'only in the copy')");
    await query(port, 'CHECKPOINT');
    expect(await listing(place)).toEqual(before);
    expect((await pg.query<{ n: string }>('SELECT count(*)::text AS n FROM far WHERE id = 99999'))[0]!.n).toBe('0');
    // A restore test of the same backup (as scheduled restore tests run) keeps its tablespaces in its scratch space too.
    const report = (await sys.validate(base.id, 'main')).report;
    expect(report?.ok, JSON.stringify(report)).toBe(true);
    expect(await listing(place)).toEqual(before);
  });

  it('the database stopping mid BASE_BACKUP fails the job clearly; nothing is committed; the repository verifies clean', async () => {
    // 1 MiB/s against ~30 MB: 2 s is well inside the stream.
    const err = await sys.backupWithServerStopped('slow', pg, 2000);
    expect(err).toMatchObject({ details: expect.stringMatching(/BASE_BACKUP: the PostgreSQL server at postgres@127\.0\.0\.1:\d+ stopped, restarted or is unreachable \(source slow\).*Nothing was committed/) });
    expect(await sys.snapshots('slow')).toEqual([]);
    const report = await sys.verify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
