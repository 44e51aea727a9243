/**
 * PostgreSQL end to end, real processes: a scratch PostgreSQL 15 cluster, a
 * real `pbk-coordinator` and an enrolled `pbk-agent run` streaming the
 * cluster's WAL and taking base backups; restores through the operator API
 * and the `pbk` CLI start restored servers and the test reads their rows.
 *
 * PITR exactness: a row with its own timestamp is inserted every ~100 ms
 * across a base backup, a WAL switch and a second base backup. Restores to
 * several targets (inside the first segment, after the switch, after the
 * second base backup, --latest) must hold exactly the rows committed at or
 * before the target, no more, no less.
 *
 * Needs the built dist/ of coordinator, agent and CLI (npm run build).
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgTempDir, runAsPg, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import type { v1 } from '@pbk/protocol';
import { itHasThePgPrograms, PbkSystem } from './pg-harness.js';

const sys = new PbkSystem();
let pg: PgCluster;
const restored: string[] = [];
/** Restores go under a directory the postgres OS user owns: PostgreSQL must reach its data directory. */
let restoreRoot = '';

interface Row {
  id: number;
  ts: Date;
}

async function rows(port: number): Promise<number[]> {
  const { Client } = (await import('pg')).default;
  const c = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<{ id: number }>('SELECT id FROM ticks ORDER BY id')).rows.map((r) => r.id);
  } finally {
    await c.end();
  }
}

async function stopRestored(dir: string): Promise<void> {
  await runAsPg('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop'], { allowFailure: true });
}

describe('postgres: base backups, WAL, point-in-time recovery', () => {
  itHasThePgPrograms();

  beforeAll(async () => {
    pg = await startPgCluster();
    restoreRoot = await pgTempDir('pbk-pg-restore-');
    await pg.query('CREATE TABLE ticks (id serial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT clock_timestamp(), pad text)');
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
    for (const d of restored) await stopRestored(d).catch(() => undefined);
    await sys.stop();
    if (restoreRoot) await rm(restoreRoot, { recursive: true, force: true });
    await pg?.cleanup();
    await stopAllPgClusters();
  });

  const inserted: Row[] = [];
  let base1: v1.SnapshotInfo__Output;
  let base2: v1.SnapshotInfo__Output;
  let switchedAt = 0;

  it('takes base backups while rows arrive every ~100 ms, across a WAL switch', async () => {
    const client = await pg.client();
    let stop = false;
    const inserter = (async () => {
      while (!stop) {
        const r = await client.query<{ id: number; ts: Date }>("INSERT INTO ticks (pad) VALUES (repeat('x', 200)) RETURNING id, ts");
        inserted.push(r.rows[0]!);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 800));
      base1 = await sys.backup('main');
      await new Promise((r) => setTimeout(r, 800));
      await pg.query('SELECT pg_switch_wal()');
      switchedAt = Date.now();
      await new Promise((r) => setTimeout(r, 800));
      base2 = await sys.backup('main');
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      stop = true;
      await inserter;
      await client.end();
    }
    for (const b of [base1, base2]) {
      expect(b.labels.type).toBe('base');
      expect(b.labels.start_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(b.labels.stop_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(b.labels.timeline).toBe('1');
      expect(b.labels.backup_label).toContain('START WAL LOCATION');
      expect(b.labels.server_version).toMatch(/^15\./);
      expect(b.labels.wal_durable).toBe('true');
    }
    expect(inserted.length).toBeGreaterThan(25);
    // The second base backup deduplicates against the first: only what changed is new.
    expect(Number(base2.stats?.newBytes)).toBeLessThan(Number(base2.stats?.totalBytes) / 2);
  });

  it('compacts the WAL stream\'s small packs (every restore below reads WAL and base backups from the merged packs)', async () => {
    const r = await sys.cli(['repo', 'compact', '--grace', '1', '--json']);
    expect(r.code, r.out).toBe(0);
    const doc = JSON.parse(r.stdout) as { packs: { compacted: number; written: number } };
    expect(doc.packs.compacted).toBeGreaterThan(10);
    expect(doc.packs.written).toBeGreaterThanOrEqual(1);
  });

  /** A target halfway between two consecutive rows after `afterMs`: rows at or before it are expected. */
  const targetAfter = (afterMs: number): { t: number; expected: number[] } => {
    const i = inserted.findIndex((r) => r.ts.getTime() > afterMs);
    expect(i, 'a row after the point').toBeGreaterThanOrEqual(0);
    expect(i + 1).toBeLessThan(inserted.length);
    const t = Math.floor((inserted[i]!.ts.getTime() + inserted[i + 1]!.ts.getTime()) / 2);
    return { t, expected: inserted.filter((r) => r.ts.getTime() <= t).map((r) => r.id) };
  };

  const restoreTo = async (name: string, target: Partial<v1.PostgresRestoreOptions>, at = 0): Promise<{ done: v1.RestoreDone__Output; ids: number[] }> => {
    const dir = join(restoreRoot, `restore-${name}`);
    restored.push(dir);
    const done = await sys.restore({
      source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' },
      atUnixMs: String(at),
      postgres: { targetDir: dir, start: true, ...target },
    });
    expect(done.facts.promoted).toBe('true');
    expect(done.facts.amcheck).toBe('ok');
    const ids = await rows(Number(done.facts.port));
    // Recovery fetched its WAL through the curl script in front of the node entry.
    expect(await readFile(join(dir, 'postgresql.auto.conf'), 'utf8')).toMatch(/^restore_command = '\/bin\/sh \S+\/bin\/wal-fetch\.sh \S+ \S+\/dist\/wal-fetch\.js --socket /m);
    await stopRestored(dir);
    return { done, ids };
  };

  it('restores to a time inside the first segment (from the first base backup)', async () => {
    const { t, expected } = targetAfter(Number(base1.timeUnixMs));
    const { done, ids } = await restoreTo('seg1', { timeUnixMs: String(t) });
    expect(done.snapshot?.id.equals(base1.id)).toBe(true);
    expect(ids).toEqual(expected);
    expect(done.facts.timeline).toBe('2');
    // restored_to is the commit time of the last replayed transaction: the last expected row's, just after its ts.
    const lastRow = inserted.find((r) => r.id === expected[expected.length - 1])!;
    expect(Date.parse(done.facts.restored_to!)).toBeGreaterThanOrEqual(lastRow.ts.getTime());
    expect(Date.parse(done.facts.restored_to!)).toBeLessThanOrEqual(t);
    expect(done.facts.recovery_stop).toMatch(/^before commit of transaction \d+/);
  });

  it('restores to a time after the WAL switch, replaying across segments', async () => {
    const { t, expected } = targetAfter(switchedAt + 200);
    expect(t).toBeLessThan(Number(base2.timeUnixMs));
    const { done, ids } = await restoreTo('seg2', { timeUnixMs: String(t) });
    expect(done.snapshot?.id.equals(base1.id)).toBe(true);
    expect(ids).toEqual(expected);
  });

  it('restores to a time after the second base backup, starting from it', async () => {
    const { t, expected } = targetAfter(Number(base2.timeUnixMs));
    // The target's segment is still open: switch and wait for a base backup (it returns once WAL up to its end is durable).
    await pg.query('SELECT pg_switch_wal()');
    expect((await sys.backup('main')).labels.wal_durable).toBe('true');
    const { done, ids } = await restoreTo('after2', { timeUnixMs: String(t) });
    expect(done.snapshot?.id.equals(base2.id)).toBe(true);
    expect(ids).toEqual(expected);
  });

  it('restores --latest through the CLI: every row, from an older base backup picked with --at', async () => {
    const dir = join(restoreRoot, 'restore-latest');
    restored.push(dir);
    const r = await sys.cli(['restore', 'postgres', '--host', sys.host, '--source', 'main', '--latest', '--at', new Date(Number(base2.timeUnixMs)).toISOString(), '--to', dir, '--start', '--json']);
    expect(r.code, r.out).toBe(0);
    const doc = JSON.parse(r.stdout) as { restore: { snapshot: { id: string }; facts: Record<string, string> } };
    expect(doc.restore.snapshot.id).toBe(base2.id.toString('hex'));
    expect(doc.restore.facts.promoted).toBe('true');
    const ids = await rows(Number(doc.restore.facts.port));
    await stopRestored(dir);
    expect(ids).toEqual(inserted.map((x) => x.id));
  });

  it('refuses a target before the oldest base backup, and bad targets, before touching anything', async () => {
    const dir = join(restoreRoot, 'restore-too-early');
    await expect(
      sys.restore({ source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, postgres: { targetDir: dir, timeUnixMs: String(inserted[0]!.ts.getTime()) } }),
    ).rejects.toMatchObject({ code: 5, details: expect.stringMatching(/no base backup of .* at or before/) });
    // A parent the postgres OS user cannot traverse is refused before any byte is restored.
    await expect(
      sys.restore({ source: { host: sys.host, name: 'main', kind: 'SOURCE_KIND_POSTGRES' }, postgres: { targetDir: join(sys.base, 'unreachable'), start: true } }),
    ).rejects.toMatchObject({ details: expect.stringMatching(/could not reach .*chmod o\+x/) });
    expect(existsSync(join(sys.base, 'unreachable'))).toBe(false);
    const bad = await sys.cli(['restore', 'postgres', '--host', sys.host, '--source', 'main', '--lsn', 'nope', '--to', dir]);
    expect(bad.code).toBe(2);
    const two = await sys.cli(['restore', 'postgres', '--host', sys.host, '--source', 'main', '--latest', '--xid', '5', '--to', dir]);
    expect(two.code, two.out).toBe(2);
    expect(two.out).toContain('exactly one recovery target');
  });

  it('restores to a target in the newest, still-open WAL segment (the ~1 s RPO path, no WAL switch)', async () => {
    const client = await pg.client();
    const fresh: Row[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        fresh.push((await client.query<Row>("INSERT INTO ticks (pad) VALUES ('late') RETURNING id, ts")).rows[0]!);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await client.end();
    }
    inserted.push(...fresh);
    // No switch: these rows live only in the growing segment, which the stream sends within about a second.
    await new Promise((r) => setTimeout(r, 3000));
    const t = Math.floor((fresh[3]!.ts.getTime() + fresh[4]!.ts.getTime()) / 2);
    const { ids } = await restoreTo('open-segment', { timeUnixMs: String(t) });
    expect(ids).toEqual(inserted.filter((r) => r.ts.getTime() <= t).map((r) => r.id));
  });
});
