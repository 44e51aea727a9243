/**
 * The catalog on a real PostgreSQL server (DESIGN decision 6): init and serve
 * with PBK_CATALOG_URL naming a fresh database; enrollment, a backup and the
 * operator's listing go through it. The server is never skipped: if it is
 * down, this fails and says so.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import type { v1 } from '@pbk/protocol';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminCreds, agentClient, backupByHand, call, enroll, expectRemote, initData, operatorClient, serve, tempDir, token, type Serving } from './harness.js';

const ADMIN_URL = process.env.PBK_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const database = `pbk_coord_test_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
})();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${ADMIN_URL} is not reachable (${(err as Error).message}): start it (see ../shared/services.sh) or set PBK_TEST_POSTGRES_URL`);
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
let coordinator: Serving | undefined;

beforeAll(async () => {
  await admin(`CREATE DATABASE ${database}`);
  tmp = await tempDir();
});

afterAll(async () => {
  await coordinator?.stop('SIGTERM');
  await tmp?.cleanup();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

it('serves with its catalog on PostgreSQL', async () => {
  const dir = join(tmp.dir, 'data');
  await initData(dir, { PBK_CATALOG_URL: url });
  expect(JSON.parse(await readFile(join(dir, 'coordinator.json'), 'utf8'))).toMatchObject({ catalogUrl: url });
  // serve takes the URL from coordinator.json (the environment could override it).
  coordinator = await serve(dir, { PBK_CATALOG_URL: '' });
  expect(coordinator.readyLine.catalog).toBe('postgres');

  const tok = await token(dir, 'pg-host');
  const creds = await enroll(coordinator, dir, 'pg-host', tok);
  expect((await expectRemote(enroll(coordinator, dir, 'pg-host', tok))).message).toContain('already used');
  const agent = agentClient(coordinator.ready.grpc, creds);
  const done = await backupByHand(agent, [{ name: 'pg.conf', data: Buffer.from('max_connections = 100\n') }]);
  const ops = operatorClient(coordinator.ready.grpc, await adminCreds(dir));
  const list = await call<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse__Output>(ops as unknown as Client, 'listSnapshots', { host: 'pg-host' });
  expect(list.snapshots.map((s) => s.id.toString('hex'))).toEqual([done.snapshot.id.toString('hex')]);

  // The rows are really in that database.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM audit_log WHERE action IN ('enroll', 'key.create')");
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(2);
  } finally {
    await client.end();
  }
  agent.close();
  ops.close();
  expect(await coordinator.stop('SIGTERM')).toBe(0);
  coordinator = undefined;
});
