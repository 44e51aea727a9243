/**
 * What the WAL tests share: a real PostgreSQL 15 cluster (testkit), the BUILT
 * coordinator as a child process on a fixed port (so it can be restarted
 * under the agent's feet), an agent state dir enrolled the real way
 * (`pbk-coordinator token` | `pbk-agent enroll`), a real mutual-TLS AgentRpc,
 * and the checks that the coordinator's copy of the WAL has no hole: every
 * stored segment equal, byte for byte, to the server's own pg_wal file.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { freePort, PG_BIN, startPgCluster, type PgCluster } from '@pbk/testkit';
import { systemClock } from '../src/clock.js';
import type { PostgresSourceConfig } from '../src/config/postgres.js';
import { fetchWal } from '../src/postgres/wal/fetch.js';
import { isSegmentName, parseLsn, segmentName, segmentStart, type Lsn } from '../src/postgres/wal/names.js';
import { readState } from '../src/state.js';
import { connectAgentRpc, type AgentRpc } from '../src/wire/client.js';

export const HOST = 'db-1';
export const SEG_SIZE = 16 * 1024 * 1024;

import { AGENT, COORDINATOR, runProc as runTo, startProc as start, type Proc } from './procs.js';
export { AGENT, COORDINATOR, runTo, start, type Proc };

export interface WalEnv {
  base: string;
  pg: PgCluster;
  rpc: AgentRpc;
  coordData: string;
  grpcAddr: string;
  /** The running coordinator's HTTP address (/health, /metrics); changes when it is restarted. */
  httpAddr: string;
  coord: Proc | undefined;
  stopCoordinator(): Promise<void>;
  startCoordinator(): Promise<void>;
  config(overrides?: Partial<PostgresSourceConfig['wal']>): PostgresSourceConfig;
  cleanup(): Promise<void>;
}

export async function setupWalEnv(pgSettings: Record<string, string | number> = {}): Promise<WalEnv> {
  const base = await mkdtemp(join(tmpdir(), 'pbk-wal-'));
  const coordData = join(base, 'coord');
  const init = await runTo(COORDINATOR, ['init', '--data', coordData]);
  if (init.code !== 0) throw new Error(`coordinator init failed:\n${init.out}`);
  const grpcPort = await freePort();
  const grpcAddr = `127.0.0.1:${grpcPort}`;
  const env: WalEnv = {
    base,
    pg: undefined as unknown as PgCluster,
    rpc: undefined as unknown as AgentRpc,
    coordData,
    grpcAddr,
    httpAddr: '',
    coord: undefined,
    async startCoordinator() {
      const p = start(COORDINATOR, ['serve', '--data', coordData, '--listen', grpcAddr, '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
      env.coord = p;
      const ready = await p.waitFor((l) => l.includes('"event":"ready"'));
      env.httpAddr = (JSON.parse(ready) as { http: string }).http;
    },
    async stopCoordinator() {
      const p = env.coord;
      env.coord = undefined;
      if (p && p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    },
    config(overrides = {}) {
      return {
        name: 'main',
        kind: 'postgres',
        connection: { host: '127.0.0.1', port: env.pg.port, user: 'postgres', database: 'postgres', password: undefined, sslmode: undefined },
        binDir: PG_BIN,
        dataDirectory: env.pg.dataDir,
        osUser: 'postgres',
        wal: { enabled: true, slot: 'pbk_main', spoolDir: join(base, 'spool'), spoolLimitBytes: 1024 ** 3, slotAlertBytes: 1024 ** 3, ...overrides },
        baseSchedule: undefined,
        logicalSchedule: undefined,
        logicalDatabases: undefined,
        jobs: 1,
      };
    },
    async cleanup() {
      env.rpc?.close();
      await env.stopCoordinator();
      await env.pg?.cleanup().catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    await env.startCoordinator();
    const token = await runTo(COORDINATOR, ['token', '--data', coordData, '--host', HOST]);
    if (token.code !== 0) throw new Error(`token failed:\n${token.out}`);
    const enrolled = await runTo(AGENT, ['enroll', '--coordinator', grpcAddr, '--token', '-', '--state', join(base, 'state')], token.out.trim());
    if (enrolled.code !== 0) throw new Error(`enroll failed:\n${enrolled.out}`);
    const state = await readState(join(base, 'state'));
    env.rpc = connectAgentRpc({ target: grpcAddr, tls: { caPem: state.caPem, certPem: state.certPem, keyPem: state.keyPem }, clock: systemClock });
    env.pg = await startPgCluster({ settings: pgSettings });
    return env;
  } catch (err) {
    await env.cleanup();
    throw err;
  }
}

export const SOURCE: v1.SourceRef = { host: HOST, kind: 'SOURCE_KIND_POSTGRES', name: 'main' };

/** Commits one row and returns the server's WAL position just after the commit. */
export async function commitRow(pg: PgCluster, value: string): Promise<Lsn> {
  const c = await pg.client();
  try {
    await c.query('INSERT INTO t (v) VALUES ($1)', [value]);
    const { rows } = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return parseLsn(rows[0]!.lsn);
  } finally {
    await c.end();
  }
}

export async function currentTimeline(pg: PgCluster): Promise<number> {
  const [r] = await pg.query<{ tli: number }>('SELECT timeline_id AS tli FROM pg_control_checkpoint()');
  return Number(r!.tli);
}

/** Every WAL file the coordinator lists for the source. */
export async function listAll(rpc: AgentRpc): Promise<v1.WalFile__Output[]> {
  const out: v1.WalFile__Output[] = [];
  let from = '';
  for (;;) {
    const page = await rpc.listWal({ source: SOURCE, fromFileName: from, limit: 1000 });
    out.push(...page.files);
    if (page.nextFileName === '') return out;
    from = page.nextFileName;
  }
}

/**
 * No hole from `first` up to `upTo`: every segment name in between is stored;
 * each complete one equals the server's pg_wal file byte for byte; the last
 * (growing) one equals the server file's prefix and reaches `upTo`.
 */
export async function assertNoHole(env: WalEnv, firstSegment: string, upTo: Lsn): Promise<{ segments: number; complete: number }> {
  const tli = Number.parseInt(firstSegment.slice(0, 8), 16);
  const last = segmentName(tli, upTo - 1n, SEG_SIZE);
  const files = new Map((await listAll(env.rpc)).map((f) => [f.fileName, f]));
  let segments = 0;
  let complete = 0;
  for (let lsn = segmentStart(firstSegment, SEG_SIZE); lsn < upTo; lsn += BigInt(SEG_SIZE)) {
    const name = segmentName(tli, lsn, SEG_SIZE);
    const f = files.get(name);
    if (!f) throw new Error(`WAL hole: segment ${name} is not on the coordinator (have ${[...files.keys()].filter(isSegmentName).join(', ')})`);
    const server = await readFile(join(env.pg.dataDir, 'pg_wal', name));
    const stored = (await fetchWal(env.rpc, SOURCE, name, undefined, { allowPartial: true })).data;
    segments++;
    if (f.complete) {
      complete++;
      if (!stored.equals(server)) throw new Error(`segment ${name}: stored bytes differ from the server's pg_wal file`);
    } else {
      if (name !== last) throw new Error(`segment ${name} is not complete but is not the newest (${last})`);
      if (!stored.equals(server.subarray(0, stored.length))) throw new Error(`segment ${name}: stored prefix differs from the server's file`);
      if (lsn + BigInt(stored.length) < upTo) throw new Error(`segment ${name}: stored up to ${stored.length}, needed ${upTo - lsn}`);
    }
  }
  return { segments, complete };
}

/** The end of the WAL the coordinator lists as stored for the segment holding `lsn - 1` (0n when none). */
export async function storedThrough(rpc: AgentRpc, tli: number, lsn: Lsn): Promise<boolean> {
  const name = segmentName(tli, lsn - 1n, SEG_SIZE);
  const page = await rpc.listWal({ source: SOURCE, fromFileName: name, limit: 2 });
  const f = page.files.find((x) => x.fileName === name);
  if (f && (f.complete || segmentStart(name, SEG_SIZE) + BigInt(f.size) >= lsn)) return true;
  return page.files.some((x) => isSegmentName(x.fileName) && x.fileName > name);
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
