/**
 * PostgreSQL WAL on a real coordinator process (docs/postgres.md, "WAL
 * streaming"): the WAL run (one per source, survives a restart), PutWal's
 * rules (grow, complete, repeat = already_had, different content under a
 * complete name = INTEGRITY and nothing overwritten, blobs must be durable),
 * ListWal paging, GetWal streaming the bytes back with their keys, and who may
 * read whose WAL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import type { v1 } from '@pbk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentClient, call, enroll, expectRemote, FILES_SOURCE, initData, PG_SOURCE, serve, tempDir, walOps, type AgentCreds, type Serving } from './harness.js';

const PG = PG_SOURCE;
const SEG = '000000010000000000000003';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dir: string;
let server: Serving;
let creds: AgentCreds;
let other: AgentCreds;
let agent: v1.AgentServiceClient;
let begin: v1.BeginBackupResponse__Output;

function sha(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

const { putWal, getWal, listWal } = walOps(
  () => agent,
  () => begin,
);

beforeAll(async () => {
  tmp = await tempDir('pbk-coord-wal-');
  dir = join(tmp.dir, 'data');
  await initData(dir);
  server = await serve(dir);
  creds = await enroll(server, dir, 'db-1');
  other = await enroll(server, dir, 'web-1');
  agent = agentClient(server.ready.grpc, creds);
  begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(agent as unknown as Client, 'beginBackup', { source: PG(), walStream: true });
}, 120_000);

afterAll(async () => {
  agent?.close();
  await server?.stop('SIGKILL');
  await tmp?.cleanup();
});

describe('WAL run', () => {
  it('is one per source: a second BeginBackup wal_stream returns the same run and DEK', async () => {
    const again = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(agent as unknown as Client, 'beginBackup', { source: PG(), walStream: true });
    expect(again.runId.equals(begin.runId)).toBe(true);
    expect(again.dek!.id.equals(begin.dek!.id)).toBe(true);
  });

  it('is refused for a files source and is never committed', async () => {
    const e = await expectRemote(call(agent as unknown as Client, 'beginBackup', { source: FILES_SOURCE(), walStream: true }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    const c = await expectRemote(call(agent as unknown as Client, 'commitBackup', { runId: begin.runId, treeRoot: randomBytes(32) }));
    expect(c.code).toBe('FAILED_PRECONDITION');
    expect(c.message).toMatch(/WAL run/);
  });
});

describe('PutWal / GetWal', () => {
  const seg = randomBytes(64 * 1024);

  it('records a growing segment, lets it grow, then seals it; GetWal returns exactly its bytes', async () => {
    expect((await putWal(SEG, seg.subarray(0, 10_000), false)).alreadyHad).toBe(false);
    // Not complete: restore_command must not see it, unless asked for the growing state.
    expect((await expectRemote(getWal(SEG))).code).toBe('NOT_FOUND');
    const partial = await getWal(SEG, { allowPartial: true });
    expect(partial.data.equals(seg.subarray(0, 10_000))).toBe(true);
    expect(partial.file.complete).toBe(false);

    expect((await putWal(SEG, seg.subarray(0, 30_000), false)).alreadyHad).toBe(false);
    expect((await putWal(SEG, seg, true)).alreadyHad).toBe(false);
    const whole = await getWal(SEG);
    expect(whole.file).toMatchObject({ fileName: SEG, size: String(seg.length), complete: true });
    expect(whole.data.equals(seg)).toBe(true);
  });

  it('answers already_had for the same content twice (a retry, wal-push twice)', async () => {
    expect((await putWal(SEG, seg, true)).alreadyHad).toBe(true);
  });

  it('refuses different content under a complete name with INTEGRITY and keeps the stored file', async () => {
    const forged = Buffer.from(seg);
    forged[100]! ^= 0xff;
    const e = await expectRemote(putWal(SEG, forged, true));
    expect(e.code).toBe('INTEGRITY');
    expect(e.message).toContain(SEG);
    expect((await getWal(SEG)).data.equals(seg)).toBe(true);
  });

  it('refuses a growing segment that shrinks, or changes at the same size, and keeps what it had', async () => {
    const name = '000000010000000000000004';
    const data = randomBytes(20_000);
    await putWal(name, data, false);
    expect((await expectRemote(putWal(name, data.subarray(0, 8_000), false))).code).toBe('INTEGRITY');
    const changed = Buffer.from(data);
    changed[5]! ^= 1;
    expect((await expectRemote(putWal(name, changed, false))).code).toBe('INTEGRITY');
    expect((await getWal(name, { allowPartial: true })).data.equals(data)).toBe(true);
  });

  it('refuses blobs that are not in the repository, and a size its blobs do not add up to; nothing is recorded', async () => {
    const name = '000000010000000000000005';
    const e = await expectRemote(putWal(name, randomBytes(9_000), false, { uploadBlobs: false }));
    expect(e.code).toBe('FAILED_PRECONDITION');
    expect(e.message).toMatch(/not in the repository/);
    const s = await expectRemote(putWal(name, randomBytes(9_000), false, { size: 9_001 }));
    expect(s.code).toBe('INVALID_ARGUMENT');
    expect((await listWal()).files.map((f) => f.fileName)).not.toContain(name);
    expect((await expectRemote(call(agent as unknown as Client, 'putWal', { runId: begin.runId, fileName: 'pg_wal/../x', size: 0, content: [], complete: true, sha256: sha(Buffer.alloc(0)) }))).code).toBe('INVALID_ARGUMENT');
  });

  it('stores timeline history files and lists files in PostgreSQL order, in pages', async () => {
    const history = Buffer.from('1\t0/3000000\tno recovery target specified\n');
    await putWal('00000002.history', history, true);
    expect((await getWal('00000002.history')).data.equals(history)).toBe(true);
    const all = await listWal();
    const names = all.files.map((f) => f.fileName);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining([SEG, '000000010000000000000004', '00000002.history']));
    const page = await listWal(agent, PG(), '', 1);
    expect(page.files).toHaveLength(1);
    expect(page.nextFileName).toBe(names[1]);
  });

  it('lets no other host read the WAL, and says so', async () => {
    const web = agentClient(server.ready.grpc, other);
    try {
      const e = await expectRemote(getWal(SEG, { client: web, source: { ...PG(), host: 'db-1' } }));
      expect(e.code).toBe('PERMISSION_DENIED');
      expect((await expectRemote(listWal(web, { ...PG(), host: 'db-1' }))).code).toBe('PERMISSION_DENIED');
      // Its own (empty) WAL is fine.
      expect((await listWal(web)).files).toEqual([]);
    } finally {
      web.close();
    }
  });
});

describe('after a coordinator restart', () => {
  it('keeps the WAL and hands out the same WAL run again', async () => {
    agent.close();
    await server.stop('SIGKILL');
    server = await serve(dir);
    agent = agentClient(server.ready.grpc, creds);
    const again = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(agent as unknown as Client, 'beginBackup', { source: PG(), walStream: true });
    expect(again.runId.equals(begin.runId)).toBe(true);
    expect(again.dek!.key.equals(begin.dek!.key)).toBe(true);
    const files = (await listWal()).files;
    expect(files.find((f) => f.fileName === SEG)).toMatchObject({ complete: true, size: String(64 * 1024) });
    expect((await getWal(SEG)).data.length).toBe(64 * 1024);
  }, 120_000);
});
