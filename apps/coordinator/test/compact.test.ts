/**
 * Repository maintenance on a real coordinator process: a WAL stream's durable
 * PutWal calls leave one small pack each; CompactRepository (and `pbk repo
 * compact`) merges them while the stream goes on, GetWal still returns
 * byte-identical files, verify stays clean, and the repository alone (WAL
 * manifests + KEK, no catalog) names every complete WAL file.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@grpc/grpc-js';
import { readKeyFile } from '@pbk/crypto';
import type { v1 } from '@pbk/protocol';
import { LocalBackend, loadWalManifests, Repository } from '@pbk/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCreds, agentClient, APP_DIR, call, collect, enroll, initData, metric, operatorClient, PG_SOURCE, serve, tempDir, walOps, type AgentCreds, type Serving } from './harness.js';

const CLI = join(APP_DIR, '..', 'cli', 'dist', 'main.js');
const segName = (i: number) => (0x10 + i).toString(16).toUpperCase().padStart(24, '0');

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dir: string;
let server: Serving;
let creds: AgentCreds;
let agent: v1.AgentServiceClient;
let operator: v1.OperatorServiceClient;
let begin: v1.BeginBackupResponse__Output;
const { putWal, getWal } = walOps(
  () => agent,
  () => begin,
);
/** What was streamed: file name -> bytes (complete files and the growing one). */
const streamed = new Map<string, { data: Buffer; complete: boolean }>();

async function packCount(): Promise<number> {
  const names = await readdir(join(dir, 'repository', 'data'), { recursive: true }).catch(() => [] as string[]);
  return names.filter((n) => n.length > 3).length;
}

async function connect(): Promise<void> {
  server = await serve(dir);
  agent = agentClient(server.ready.grpc, creds);
  operator = operatorClient(server.ready.grpc, await adminCreds(dir));
  begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(agent as unknown as Client, 'beginBackup', { source: PG_SOURCE(), walStream: true });
}

function disconnect(): void {
  agent?.close();
  operator?.close();
}

/** Streams a segment as the agent does: a durable PutWal every `step` bytes, complete at the end (or not). */
async function stream(name: string, data: Buffer, step: number, complete: boolean): Promise<void> {
  const had = streamed.get(name)?.data.length ?? 0;
  for (let end = had + step; end < data.length; end += step) await putWal(name, data.subarray(0, end), false);
  await putWal(name, data, complete);
  streamed.set(name, { data, complete });
}

async function compact(dryRun = false): Promise<v1.CompactRepositoryResponse__Output> {
  return call<v1.CompactRepositoryRequest, v1.CompactRepositoryResponse__Output>(operator as unknown as Client, 'compactRepository', { dryRun }, 120_000);
}

async function expectWalIdentical(): Promise<void> {
  for (const [name, s] of streamed) {
    const got = await getWal(name, { allowPartial: !s.complete });
    expect(got.file.complete).toBe(s.complete);
    expect(got.data.equals(s.data)).toBe(true);
  }
}

beforeAll(async () => {
  tmp = await tempDir('pbk-coord-compact-');
  dir = join(tmp.dir, 'data');
  await initData(dir);
  // No interval here (the test triggers runs), no grace and no delete delay: the defaults are minutes.
  const config = JSON.parse(await readFile(join(dir, 'coordinator.json'), 'utf8')) as Record<string, unknown>;
  config.maintenance = { intervalSeconds: 0, compactGraceSeconds: 0, deleteDelaySeconds: 0, minPacks: 2 };
  await writeFile(join(dir, 'coordinator.json'), JSON.stringify(config), { mode: 0o600 });
  server = await serve(dir);
  creds = await enroll(server, dir, 'db-1');
  await server.stop('SIGTERM');
  await connect();
}, 120_000);

afterAll(async () => {
  disconnect();
  await server?.stop('SIGKILL');
  await tmp?.cleanup();
});

describe('compaction of a WAL stream', () => {
  it('merges the small packs of many PutWal calls; GetWal returns the same bytes; the stream goes on', async () => {
    const before = await packCount();
    for (let i = 0; i < 3; i++) await stream(segName(i), randomBytes(64 * 1024), 8 * 1024, true);
    await stream(segName(3), randomBytes(64 * 1024).subarray(0, 24 * 1024), 8 * 1024, false);
    const small = (await packCount()) - before;
    expect(small).toBeGreaterThanOrEqual(24);

    const plan = await compact(true);
    expect(plan.dryRun).toBe(true);
    expect(Number(plan.packsCompacted)).toBeGreaterThanOrEqual(24);
    expect(await packCount()).toBe(before + small);

    const r = await compact();
    expect(Number(r.packsCompacted)).toBeGreaterThanOrEqual(24);
    expect(Number(r.packsWritten)).toBe(1);
    expect(Number(r.pendingDeletes)).toBe(0);
    expect(Number(r.walManifestsRemoved)).toBe(3);
    expect(Number(r.walManifestsWritten)).toBe(1);
    expect(await packCount()).toBe(before + small - Number(r.packsCompacted) + 1);
    await expectWalIdentical();
    expect(await metric(server, 'pbk_compaction_packs_compacted_total')).toBe(Number(r.packsCompacted));

    // The growing segment grows on (its first pieces now live in the new pack) and completes.
    const growing = streamed.get(segName(3))!;
    const whole = Buffer.concat([growing.data, randomBytes(40 * 1024)]);
    await stream(segName(3), whole, 8 * 1024, true);
    await stream(segName(4), randomBytes(32 * 1024), 4 * 1024, true);
    await expectWalIdentical();

    // pbk repo compact, the built CLI against this coordinator.
    const cli = await promisify(execFile)(process.execPath, [CLI, 'repo', 'compact', '--json'], {
      env: { ...process.env, PBK_COORDINATOR: server.ready.grpc, PBK_CREDENTIALS: join(dir, 'admin') },
    });
    const doc = JSON.parse(cli.stdout) as { packs: { compacted: number; written: number }; walManifests: { written: number } };
    expect(doc.packs.compacted).toBeGreaterThanOrEqual(8);
    expect(doc.packs.written).toBe(1);
    await expectWalIdentical();

    // Compaction while the stream goes on: PutWal and compaction in parallel, nothing lost.
    let done = false;
    const streaming = stream(segName(5), randomBytes(160 * 1024), 4 * 1024, true).finally(() => (done = true));
    let compactedDuring = 0;
    while (!done) compactedDuring += Number((await compact()).packsCompacted);
    await streaming;
    expect(compactedDuring).toBeGreaterThan(0);
    await expectWalIdentical();
    await compact();
    await expectWalIdentical();

    const verify = await collect<v1.VerifyUpdate__Output>(operator.verify({ readDataPercent: 100 }));
    const report = verify.at(-1)!.report!;
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  }, 180_000);

  it('survives a restart: GetWal still returns the same bytes', async () => {
    disconnect();
    await server.stop('SIGTERM');
    await connect();
    await expectWalIdentical();
  }, 120_000);

  it('the repository alone (WAL manifests and the KEK, no catalog) gives back every complete WAL file', async () => {
    disconnect();
    await server.stop('SIGTERM');
    const repo = await Repository.open(new LocalBackend(join(dir, 'repository')), { kind: 'key', key: await readKeyFile(join(dir, 'kek.key')) });
    const wal = await loadWalManifests(repo);
    const complete = [...streamed].filter(([, s]) => s.complete);
    expect(wal.files.map((f) => f.name)).toEqual(complete.map(([n]) => n).sort());
    expect(wal.conflicts).toEqual([]);
    for (const f of wal.files) {
      const data = Buffer.concat(await Promise.all(f.content.map((id) => repo.readBlob(Buffer.from(id, 'hex')))));
      expect(data.equals(streamed.get(f.name)!.data)).toBe(true);
      expect(createHash('sha256').update(data).digest('hex')).toBe(f.sha256);
    }
    // Files only the catalog recorded (before WAL manifests existed) are written by the next run.
    await rm(join(dir, 'repository', 'wal'), { recursive: true });
    await connect();
    const r = await compact();
    expect(Number(r.walFilesBackfilled)).toBe(complete.length);
    const again = await loadWalManifests(await Repository.open(new LocalBackend(join(dir, 'repository')), { kind: 'key', key: await readKeyFile(join(dir, 'kek.key')) }));
    expect(again.files.map((f) => f.name)).toEqual(wal.files.map((f) => f.name));
    expect((await compact()).walFilesBackfilled).toBe('0');
  }, 120_000);
});
