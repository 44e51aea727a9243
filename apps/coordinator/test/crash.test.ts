/**
 * The coordinator SIGKILLed in the middle of an upload, then restarted on the
 * same data directory: the repository verifies clean, every acknowledged
 * blob is still there (MissingBlobs reports it present), the run resumes
 * with the same id and DEK, and the unacknowledged rest can be uploaded and
 * committed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import type { v1 } from '@pbk/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  adminCreds,
  agentClient,
  buildTree,
  call,
  collect,
  enroll,
  FILES_SOURCE,
  initData,
  metric,
  openUpload,
  operatorClient,
  serve,
  tempDir,
  upload,
  type Serving,
} from './harness.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dir: string;
const servers: Serving[] = [];

beforeAll(async () => {
  tmp = await tempDir();
  dir = join(tmp.dir, 'data');
  await initData(dir);
});

afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  await tmp?.cleanup();
});

it('loses nothing acknowledged when killed mid-upload, and the run resumes after restart', async () => {
  const first = await serve(dir);
  servers.push(first);
  const creds = await enroll(first, dir, 'db-1');
  const agent = agentClient(first.ready.grpc, creds);
  const c = agent as unknown as Client;
  const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE('pgdata'), mode: 'BACKUP_MODE_FULL' });
  const dek = { id: begin.dek!.id, key: begin.dek!.key };
  // 6 small files acknowledged first, then 40 MiB in 8 MiB chunks (more than one 32 MiB pack) that never get their ack.
  const small = Array.from({ length: 6 }, (_, i) => ({ name: `small-${i}`, data: randomBytes(20_000) }));
  const big = Array.from({ length: 5 }, (_, i) => ({ name: `big-${i}`, data: randomBytes(8 << 20) }));
  const all = buildTree(dek, begin.idKey, [...small, ...big], 8 << 20);
  const ackedData = all.blobs.filter((b) => b.type === 'data' && b.rawLength === 20_000);
  const pendingData = all.blobs.filter((b) => b.type === 'data' && b.rawLength === 8 << 20);
  expect(ackedData.length + pendingData.length).toBe(11);
  const allIds = [...ackedData, ...pendingData, all.root].map((b) => b.id);

  const missing = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c, 'missingBlobs', { runId: begin.runId, ids: allIds });
  expect(missing.missing.length).toBe(allIds.length);
  const ack = await upload(agent, begin.runId, ackedData);
  expect(Number(ack.blobsStored)).toBe(ackedData.length);

  const open = openUpload(agent, begin.runId);
  open.write(pendingData);
  // Wait until the coordinator has taken in most of it (a pack is being written), then kill it.
  await expect.poll(() => metric(first, 'pbk_upload_bytes_received_total'), { timeout: 30_000, interval: 50 }).toBeGreaterThan(36 << 20);
  first.proc.kill('SIGKILL');
  expect(await first.exited).toBe(null);
  await expect(open.result).rejects.toBeDefined();
  agent.close();

  // Restart on the same directory (the stale catalog lock of the killed process is taken over).
  const second = await serve(dir);
  servers.push(second);
  const admin = operatorClient(second.ready.grpc, await adminCreds(dir));
  const clean = await collect<v1.VerifyUpdate__Output>(admin.verify({ readDataPercent: 100 }));
  expect(clean.at(-1)!.report!.problems).toEqual([]);
  expect(clean.at(-1)!.report!.ok).toBe(true);

  const agent2 = agentClient(second.ready.grpc, creds);
  const c2 = agent2 as unknown as Client;
  const resumed = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c2, 'beginBackup', { source: FILES_SOURCE('pgdata'), resumeRunId: begin.runId });
  expect(resumed.runId.equals(begin.runId)).toBe(true);
  expect(resumed.dek!.id.equals(dek.id)).toBe(true);
  expect(resumed.dek!.key.equals(dek.key)).toBe(true);
  const after = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c2, 'missingBlobs', { runId: begin.runId, ids: allIds });
  const stillMissing = new Set(after.missing.map((m) => m.toString('hex')));
  // Every acknowledged blob survived.
  for (const b of ackedData) expect(stillMissing.has(b.id.toString('hex'))).toBe(false);
  // What was never acknowledged is simply asked for again (some may have landed in a pack before the kill: harmless).
  expect(stillMissing.has(all.root.id.toString('hex'))).toBe(true);
  await upload(agent2, begin.runId, [...pendingData, all.root].filter((b) => stillMissing.has(b.id.toString('hex'))));
  const committed = await call<v1.CommitBackupRequest, v1.CommitBackupResponse__Output>(c2, 'commitBackup', { runId: begin.runId, treeRoot: all.root.id });
  expect(committed.snapshot!.runId.equals(begin.runId)).toBe(true);
  const verified = await collect<v1.VerifyUpdate__Output>(admin.verify({ readDataPercent: 100 }));
  expect(verified.at(-1)!.report!.ok).toBe(true);
  expect(Number(verified.at(-1)!.report!.snapshotsChecked)).toBe(1);
  admin.close();
  agent2.close();
  expect(await second.stop('SIGTERM')).toBe(0);
});
