/**
 * Delta blobs end to end, real processes (docs/repository-format.md, "Delta
 * blobs"): a PostgreSQL 15 cluster with a table of several MB, a real
 * `pbk-coordinator` and `pbk-agent run`. Base backup 1; 1 % of the rows
 * updated at random (which touches most 1 MiB chunks of the table); a logical
 * dump in between (the agent must look past it for the previous BASE backup);
 * base backup 2. The agent cuts relation files into fixed 1 MiB chunks and
 * hints each changed chunk with the previous backup's chunk at the same
 * index; the coordinator stores such chunks as deltas, so backup 2 stores a
 * small share of what it uploads. Restoring backup 2 (delta blobs travel with
 * their bases) must give exactly the table's rows, and pg_amcheck must pass.
 *
 * Needs the built dist/ of coordinator, agent and CLI (npm run build).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgTempDir, runAsPg, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import type { v1 } from '@pbk/protocol';
import { itHasThePgPrograms, PbkSystem } from './pg-harness.js';

const sys = new PbkSystem();
let pg: PgCluster;
let restoreRoot = '';
const restored: string[] = [];

const ROWS = 60_000;
/** Row contents as one digest, and the count: equal digests = the same rows. */
const DIGEST = `SELECT count(*)::int AS n, md5(string_agg(id || ':' || balance || ':' || note, ',' ORDER BY id)) AS digest FROM accounts`;

async function digestAt(port: number): Promise<{ n: number; digest: string }> {
  const { Client } = (await import('pg')).default;
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<{ n: number; digest: string }>(DIGEST)).rows[0]!;
  } finally {
    await c.end();
  }
}

/** The agent's last "backup committed" log line. */
function lastCommit(): { hintedBlobs: number; uploadedBytes: number } {
  const lines = sys.agent!.lines.filter((l) => l.includes('"backup committed"'));
  return JSON.parse(lines.at(-1)!) as { hintedBlobs: number; uploadedBytes: number };
}

describe('postgres: base backups store changed relation chunks as deltas', () => {
  itHasThePgPrograms();

  beforeAll(async () => {
    pg = await startPgCluster();
    restoreRoot = await pgTempDir('pbk-pg-delta-');
    await pg.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, note text NOT NULL)');
    await pg.query(`INSERT INTO accounts SELECT g, 0, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, ${ROWS}) g`);
    // Hint bits and the visibility map set now: what changes before backup 2 is the updates' doing.
    await pg.query('VACUUM (FREEZE, ANALYZE) accounts');
    await pg.query('CHECKPOINT');
    await sys.start();
    await sys.startAgent(`sources:
  - name: main
    kind: postgres
    host: 127.0.0.1
    port: ${pg.port}
    user: postgres
    osUser: postgres
    baseSchedule: null
    logicalSchedule: null
`);
  });

  afterAll(async () => {
    for (const d of restored) await runAsPg('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop'], { allowFailure: true }).catch(() => undefined);
    await sys.stop();
    if (restoreRoot) await rm(restoreRoot, { recursive: true, force: true });
    await pg?.cleanup();
    await stopAllPgClusters();
  });

  let base1: v1.SnapshotInfo__Output;
  let base2: v1.SnapshotInfo__Output;
  let expected: { n: number; digest: string };

  it('backup 2 after 1 % random updates stores a small share of what it uploads, and of backup 1', async () => {
    const tableBytes = Number((await pg.query<{ n: string }>("SELECT pg_relation_size('accounts')::text AS n"))[0]!.n);
    expect(tableBytes).toBeGreaterThan(6 * 1024 * 1024);
    base1 = await sys.backup('main');
    expect(base1.labels.type).toBe('base');
    expect(lastCommit().hintedBlobs).toBe(0); // nothing before it to hint with

    await pg.query(`UPDATE accounts SET balance = balance + 1 + (random() * 1000)::int WHERE id IN (SELECT id FROM accounts ORDER BY random() LIMIT ${ROWS / 100})`);
    expected = await digestAt(pg.port);
    expect(expected.n).toBe(ROWS);
    // A logical dump in between: the previous BASE backup is one snapshot further back.
    expect((await sys.backup('main', 'logical')).labels.type).not.toBe('base');
    base2 = await sys.backup('main');
    expect(base2.labels.type).toBe('base');

    const commit = lastCommit();
    const s1 = base1.stats!;
    const s2 = base2.stats!;
    const report = {
      tableBytes,
      base1: { uploaded: Number(s1.uploadedBytes), stored: Number(s1.storedBytes) },
      base2: { uploaded: Number(s2.uploadedBytes), stored: Number(s2.storedBytes), hinted: commit.hintedBlobs, newBlobs: Number(s2.newBlobs) },
    };
    console.log(JSON.stringify(report));
    // Most changed 1 MiB chunks of the table went up with a hint.
    expect(commit.hintedBlobs).toBeGreaterThanOrEqual(Math.floor(tableBytes / (1024 * 1024)) - 1);
    expect(report.base1.stored).toBe(report.base1.uploaded); // no deltas without hints
    expect(report.base2.stored).toBeGreaterThan(0);
    expect(report.base2.stored).toBeLessThan(report.base2.uploaded * 0.1);
    expect(report.base2.stored).toBeLessThan(report.base1.stored * 0.1); // measured: 2.3 % (91 KB of 4.0 MB), uploaded 72 %
  });

  it('restores backup 2 (delta blobs with their bases) to exactly the updated rows; pg_amcheck passes; the repository verifies', async () => {
    const dir = join(restoreRoot, 'restore-base2');
    restored.push(dir);
    const done = await sys.restore({
      source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' },
      atUnixMs: base2.timeUnixMs,
      postgres: { targetDir: dir, start: true },
    });
    expect(done.snapshot?.id.equals(base2.id)).toBe(true);
    expect(done.facts.promoted).toBe('true');
    expect(done.facts.amcheck).toBe('ok');
    expect(await digestAt(Number(done.facts.port))).toEqual(expected);
    const report = await sys.verify();
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });
});
