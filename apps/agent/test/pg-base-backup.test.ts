// The base backup producer against a real PostgreSQL 15 cluster, with a sink
// that keeps blobs in memory (the gRPC path is covered by pg-pitr.test.ts):
// the labels it records, that the tree holds the data directory, and that a
// failure of OUR side (the coordinator going away mid-stream) keeps its own
// code, so the run lifecycle resumes it instead of calling it a PostgreSQL
// failure; pg_basebackup is not left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTree, openChunk, type SealedBlob } from '@pbk/storage';
import { rm } from 'node:fs/promises';
import { pgTempDir, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import type { ProduceContext } from '../src/backup/run.js';
import { parseConfig, type PostgresSourceConfig } from '../src/config/config.js';
import { AgentError, codeOf } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { produceBaseBackup } from '../src/postgres/base-backup.js';
import { systemClock } from '../src/clock.js';

let cluster: PgCluster;

/** A postgres source as the config loader compiles it (WAL streaming is not part of these tests). */
function parsePostgresForTest(port: number): PostgresSourceConfig {
  const c = parseConfig(`state: /tmp/unused\nsources:\n  - name: main\n    kind: postgres\n    host: 127.0.0.1\n    port: ${port}\n    wal: { enabled: false }\n`, '/tmp/agent.yaml');
  return c.sources[0] as PostgresSourceConfig;
}

beforeAll(async () => {
  cluster = await startPgCluster();
  await cluster.query('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g');
});

afterAll(async () => {
  await cluster?.cleanup();
  await stopAllPgClusters();
});

function memorySink(failAfterClaims = Infinity) {
  const blobs = new Map<string, SealedBlob>();
  let claims = 0;
  return {
    blobs,
    sink: {
      claimMissing: async (ids: readonly Buffer[]): Promise<boolean[]> => {
        if (++claims > failAfterClaims) throw new AgentError('UNAVAILABLE', 'coordinator went away (test)');
        return ids.map((id) => !blobs.has(id.toString('hex')));
      },
      addBlob: async (b: SealedBlob): Promise<void> => {
        blobs.set(b.id.toString('hex'), b);
      },
    },
  };
}

function context(sink: ProduceContext['sink']): ProduceContext {
  const dek = { id: Buffer.alloc(16, 1), key: Buffer.alloc(32, 2) };
  return {
    sink,
    dek,
    idKey: Buffer.alloc(32, 3),
    chunker: { minSize: 64 * 1024, avgSize: 256 * 1024, maxSize: 1024 * 1024 },
    zstdLevel: 1,
    parent: undefined,
    readTree: undefined,
    full: true,
    signal: new AbortController().signal,
    log: silentLogger(),
    setPhase: () => undefined,
    setInput: () => undefined,
  } as ProduceContext;
}

/** Base backups still streaming from the test cluster (a walsender per pg_basebackup), after up to 5 s for one to go away. */
async function walsendersLeft(): Promise<number> {
  for (let i = 0; ; i++) {
    const n = Number((await cluster.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_activity WHERE backend_type = 'walsender'"))[0]!.n);
    if (n === 0 || i >= 50) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('produceBaseBackup', () => {
  it('streams the data directory into a tree and records the backup facts as labels', async () => {
    const cfg = parsePostgresForTest(cluster.port);
    const mem = memorySink();
    const ctx = context(mem.sink as ProduceContext['sink']);
    const out = await produceBaseBackup(cfg, { clock: systemClock, walWaitMs: 0 }, ctx);
    expect(out.labels).toMatchObject({ type: 'base', timeline: '1', start_timeline: '1', wal_durable: 'off', from_replica: 'false' });
    expect(out.labels.start_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(out.labels.stop_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(out.labels.server_version).toMatch(/^15\./);
    expect(out.labels.backup_label).toContain(`START WAL LOCATION: ${out.labels.start_lsn}`);
    expect(out.timeUnixMs).toBe(Number(out.labels.stop_time_unix_ms));
    const rootBlob = mem.blobs.get(out.tree)!;
    const root = decodeTree(openChunk(ctx.dek, ctx.idKey, rootBlob.id, rootBlob.sealed, rootBlob.rawLength), '/');
    const names = root.entries.map((e) => e.name);
    for (const n of ['PG_VERSION', 'backup_label', 'backup_manifest', 'base', 'global', 'pg_wal', 'postgresql.conf']) expect(names).toContain(n);
    expect(out.totalBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('keeps the code of a failure on our side (coordinator gone: resumable), and stops pg_basebackup', async () => {
    const cfg = parsePostgresForTest(cluster.port);
    const mem = memorySink(3);
    const err = await produceBaseBackup(cfg, { clock: systemClock, walWaitMs: 0 }, context(mem.sink as ProduceContext['sink'])).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('UNAVAILABLE');
    expect((err as Error).message).toContain('coordinator went away');
    expect(await walsendersLeft()).toBe(0);
  });

  it('streams a cluster with a tablespace over BASE_BACKUP: its files under pg_tblspc/<oid>, the map as a label', async () => {
    const place = await pgTempDir('pbk-pg-tblspc-');
    try {
      await cluster.query(`CREATE TABLESPACE outside LOCATION '${place}'`);
      await cluster.query('CREATE TABLE far TABLESPACE outside AS SELECT g AS id, repeat(md5(g::text), 20) AS v FROM generate_series(1, 30000) g');
      const oid = (await cluster.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_tablespace WHERE spcname = 'outside'"))[0]!.oid;
      const farFile = (await cluster.query<{ p: string }>("SELECT pg_relation_filepath('far') AS p"))[0]!.p;
      const cfg = parsePostgresForTest(cluster.port);
      const mem = memorySink();
      const ctx = context(mem.sink as ProduceContext['sink']);
      const out = await produceBaseBackup(cfg, { clock: systemClock, walWaitMs: 0 }, ctx);
      expect(out.labels.tablespace_map).toBe(`${oid} ${place}\n`);
      expect(out.labels.backup_label).toContain(`START WAL LOCATION: ${out.labels.start_lsn}`);
      expect(out.labels.stop_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      const open = (id: string, path: string) => {
        const b = mem.blobs.get(id)!;
        return decodeTree(openChunk(ctx.dek, ctx.idKey, b.id, b.sealed, b.rawLength), path);
      };
      // Walk to the table's file: pg_tblspc/<oid>/PG_15_.../<db>/<relfilenode>, a directory chain, no symlink.
      let tree = open(out.tree, '/');
      expect(tree.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['backup_label', 'backup_manifest', 'base', 'global']));
      const parts = farFile.split('/');
      expect(parts[0]).toBe('pg_tblspc');
      for (const [i, name] of parts.entries()) {
        const e = tree.entries.find((x) => x.name === name);
        expect(e, `${parts.slice(0, i + 1).join('/')} in the tree`).toBeDefined();
        if (i === parts.length - 1) {
          expect(e!.type).toBe('file');
          expect(Number(e!.size)).toBeGreaterThan(1024 * 1024);
        } else {
          expect(e!.type).toBe('dir');
          tree = open(e!.subtree!, name);
        }
      }
      expect(out.files).toBeGreaterThan(100);
      expect(await walsendersLeft()).toBe(0);
      // Our side failing mid-stream keeps its code and closes the replication connection (no walsender left behind).
      const err = await produceBaseBackup(cfg, { clock: systemClock, walWaitMs: 0 }, context(memorySink(3).sink as ProduceContext['sink'])).catch((e: unknown) => e);
      expect(codeOf(err)).toBe('UNAVAILABLE');
      expect((err as Error).message).toContain('coordinator went away');
      expect(await walsendersLeft()).toBe(0);
    } finally {
      await cluster.query('DROP TABLE IF EXISTS far');
      await cluster.query('DROP TABLESPACE IF EXISTS outside');
      await rm(place, { recursive: true, force: true });
    }
  });

  it('says which program could not run when binDir is wrong', async () => {
    const cfg = { ...parsePostgresForTest(cluster.port), binDir: '/nonexistent/pg/bin' };
    const err = await produceBaseBackup(cfg, { clock: systemClock, walWaitMs: 0 }, context(memorySink().sink as ProduceContext['sink'])).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toMatch(/cannot run \/nonexistent\/pg\/bin\/pg_basebackup: .*check binDir/);
  });
});
