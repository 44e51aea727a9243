/**
 * After a promote on a restored copy (a new timeline), that copy is backed up
 * like any cluster and recovers to a point in time on its own timeline: real
 * PostgreSQL 15, real coordinator and agent processes.
 *
 *   source `main` (timeline 1) --base backup + WAL--> restore --latest --start
 *   => the copy, promoted on timeline 2, configured as source `copy`
 *   => base backup of `copy` (label timeline 2), rows on timeline 2
 *   => PITR of `copy` to a time between those rows: promoted on timeline 3,
 *      holding exactly the rows committed at or before the target.
 *
 * Also the restore tests (ValidateCommand) of both kinds of PostgreSQL snapshots.
 * Needs the built dist/ of coordinator, agent and CLI (npm run build).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgTempDir, runAsPg, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import type { v1 } from '@pbk/protocol';
import { built, PbkSystem } from './pg-harness.js';

const sys = new PbkSystem();
let main: PgCluster;
let root = '';
const dirs: string[] = [];

async function query<T extends Record<string, unknown>>(port: number, text: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

const sourceYaml = (name: string, port: number): string => `  - name: ${name}
    kind: postgres
    host: 127.0.0.1
    port: ${port}
    user: postgres
    baseSchedule: null
    logicalSchedule: null
`;

describe('postgres: a promoted copy on a new timeline', () => {
  it('has the built programs', () => {
    expect(built(), 'build first: npx nx run-many -t build').toBe(true);
  });

  beforeAll(async () => {
    main = await startPgCluster();
    root = await pgTempDir('pbk-pg-timeline-');
    await main.query('CREATE TABLE ticks (id serial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT clock_timestamp(), tl text)');
    await main.query("INSERT INTO ticks (tl) SELECT 'one' FROM generate_series(1, 20)");
    await sys.start();
    await sys.startAgent(`sources:\n${sourceYaml('main', main.port)}`);
  });

  afterAll(async () => {
    for (const d of dirs) await runAsPg('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop'], { allowFailure: true }).catch(() => undefined);
    await sys.stop();
    if (root) await rm(root, { recursive: true, force: true });
    await main?.cleanup();
    await stopAllPgClusters();
  });

  let copyPort = 0;
  let mainBase: v1.SnapshotInfo__Output;

  it('restores --latest into a copy that promotes onto timeline 2', async () => {
    mainBase = await sys.backup('main');
    await main.query("INSERT INTO ticks (tl) SELECT 'one-after' FROM generate_series(1, 5)");
    await main.query('SELECT pg_switch_wal()');
    expect((await sys.backup('main')).labels.wal_durable).toBe('true'); // the WAL before it is durable
    const dir = join(root, 'copy');
    dirs.push(dir);
    const done = await sys.restore({ source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, atUnixMs: mainBase.timeUnixMs, postgres: { targetDir: dir, start: true } });
    expect(done.snapshot?.id.equals(mainBase.id)).toBe(true);
    expect(done.facts.timeline).toBe('2');
    copyPort = Number(done.facts.port);
    expect((await query<{ n: string }>(copyPort, 'SELECT count(*)::text AS n FROM ticks'))[0]!.n).toBe('25');
  });

  const onTl2: { id: number; ts: Date }[] = [];
  let copyBase: v1.SnapshotInfo__Output;

  it('backs up the copy on its new timeline and recovers it to a point on that timeline (timeline 3)', async () => {
    await sys.stopAgent();
    await sys.startAgent(`sources:\n${sourceYaml('main', main.port)}${sourceYaml('copy', copyPort)}`);
    copyBase = await sys.backup('copy');
    expect(copyBase.labels.timeline).toBe('2');
    expect(copyBase.labels.start_wal_file).toMatch(/^00000002/);
    expect(copyBase.labels.wal_durable).toBe('true');
    for (let i = 0; i < 8; i++) {
      onTl2.push((await query<{ id: number; ts: Date }>(copyPort, "INSERT INTO ticks (tl) VALUES ('two') RETURNING id, ts"))[0]!);
      await new Promise((r) => setTimeout(r, 100));
    }
    await query(copyPort, 'SELECT pg_switch_wal()');
    expect((await sys.backup('copy')).labels.wal_durable).toBe('true');
    const t = Math.floor((onTl2[4]!.ts.getTime() + onTl2[5]!.ts.getTime()) / 2);
    const expected = (await query<{ id: number }>(copyPort, `SELECT id FROM ticks WHERE ts <= '${new Date(t).toISOString()}' ORDER BY id`)).map((r) => r.id);
    expect(expected.length).toBe(25 + 5);
    const dir = join(root, 'copy-pitr');
    dirs.push(dir);
    const done = await sys.restore({ source: { host: sys.host, name: 'copy', kind: 'SOURCE_KIND_POSTGRES' }, postgres: { targetDir: dir, start: true, timeUnixMs: String(t) } });
    expect(done.snapshot?.id.equals(copyBase.id)).toBe(true);
    expect(done.facts.timeline).toBe('3');
    expect(done.facts.amcheck).toBe('ok');
    const ids = (await query<{ id: number }>(Number(done.facts.port), 'SELECT id FROM ticks ORDER BY id')).map((r) => r.id);
    expect(ids).toEqual(expected);
  });

  it('validates base backups and logical dumps in scratch space (restore tests)', async () => {
    const base = await sys.validate(copyBase.id, 'copy');
    expect(base.report?.ok, JSON.stringify(base.report)).toBe(true);
    expect(base.report?.checks.map((c) => c.name)).toEqual(['restore', 'recovery', 'connections', 'pg_amcheck']);
    const dump = await sys.backup('main', 'logical');
    const logical = await sys.validate(dump.id, 'main');
    expect(logical.report?.ok, JSON.stringify(logical.report)).toBe(true);
    expect(logical.report?.checks.some((c) => c.name === 'pg_restore -l postgres' && c.detail.startsWith('1 tables'))).toBe(true);
  });
});
