/**
 * Delta blobs end to end on the built coordinator (real process, mTLS): an
 * upload hinted at the previous version of its chunk is stored as a small
 * delta, the run's stored_bytes says so, /metrics counts it, DownloadBlobs
 * sends the base (base_only) just before the delta and the two open to the
 * chunk's plaintext, a base goes out only for a snapshot that needs it, and
 * verify reads every blob clean.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { readKeyFile } from '@pbk/crypto';
import { BlobAssembler, type v1 } from '@pbk/protocol';
import { LocalBackend, openChunk, Repository } from '@pbk/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminCreds,
  agentClient,
  backupByHand,
  buildTree,
  call,
  collect,
  enroll,
  expectRemote,
  FILES_SOURCE,
  initData,
  metric,
  operatorClient,
  PG_SOURCE,
  serve,
  tempDir,
  upload,
  walOps,
  type AgentCreds,
  type Serving,
} from './harness.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dir: string;
let coordinator: Serving;
let admin: v1.OperatorServiceClient;
let host: AgentCreds;
let agent: v1.AgentServiceClient;

beforeAll(async () => {
  tmp = await tempDir();
  dir = join(tmp.dir, 'data');
  await initData(dir);
  coordinator = await serve(dir);
  admin = operatorClient(coordinator.ready.grpc, await adminCreds(dir));
  host = await enroll(coordinator, dir, 'db-delta');
  agent = agentClient(coordinator.ready.grpc, host);
}, 120_000);

afterAll(async () => {
  agent?.close();
  admin?.close();
  const code = await coordinator?.stop('SIGTERM');
  expect(code).toBe(0);
  expect(coordinator.lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  await tmp?.cleanup();
});

/** 1 MiB of table-like text (one chunk): compressible, with random values on every line. */
function tableText(bytes = 1 << 20): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `row ${i}\tcustomer-${randomInt(1000)}\t${randomBytes(6).toString('hex')}\tstatus=${['open', 'paid', 'late'][randomInt(3)]}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

function edited(plain: Buffer): Buffer {
  const out = Buffer.from(plain);
  for (let i = 0; i < 8; i++) out[randomInt(out.length)]! ^= 0x20;
  return out;
}

const c = () => agent as unknown as Client;

describe('delta blobs', () => {
  const plainA = tableText();
  const plainB = edited(plainA);
  let first: Awaited<ReturnType<typeof backupByHand>>;
  let second: { snapshot: v1.SnapshotInfo__Output; idA: Buffer; idB: Buffer; fullB: number; uploaded: number; treeId: Buffer };

  it('stores a chunk hinted at its previous version as a small delta, and the run says what it stored', async () => {
    first = await backupByHand(agent, [{ name: 'heap', data: plainA }]);
    const idA = first.tree.blobs[0]!.id;
    expect(Number(first.snapshot.stats!.storedBytes)).toBe(first.tree.blobs.reduce((n, b) => n + b.sealed.length, 0));
    const deltasBefore = await metric(coordinator, 'pbk_delta_blobs_total');
    const savedBefore = await metric(coordinator, 'pbk_delta_saved_bytes_total');

    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c(), 'beginBackup', { source: FILES_SOURCE(), mode: 'BACKUP_MODE_FULL' });
    const tree = buildTree({ id: begin.dek!.id, key: begin.dek!.key }, begin.idKey, [{ name: 'heap', data: plainB }]);
    const b = tree.blobs[0]!;
    const { missing } = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c(), 'missingBlobs', { runId: begin.runId, ids: tree.blobs.map((x) => x.id) });
    expect(missing).toHaveLength(2);
    const uploaded = tree.blobs.reduce((n, x) => n + x.sealed.length, 0);
    await upload(agent, begin.runId, tree.blobs, new Map([[b.id.toString('hex'), idA]]));
    const { snapshot } = await call<v1.CommitBackupRequest, v1.CommitBackupResponse__Output>(c(), 'commitBackup', {
      runId: begin.runId,
      treeRoot: tree.root.id,
      timeUnixMs: Date.now(),
      stats: { files: 1, totalBytes: plainB.length, newBytes: plainB.length, uploadedBytes: uploaded, newBlobs: 2 },
      paths: ['/heap'],
    });
    second = { snapshot: snapshot!, idA, idB: b.id, fullB: b.sealed.length, uploaded, treeId: tree.root.id };
    const stored = Number(snapshot!.stats!.storedBytes);
    expect(Number(snapshot!.stats!.uploadedBytes)).toBe(uploaded);
    // 8 changed bytes in 1 MiB: the delta and the tree are a small share of what was uploaded.
    expect(stored).toBeGreaterThan(tree.root.sealed.length);
    expect(stored).toBeLessThan(uploaded / 10);
    expect(await metric(coordinator, 'pbk_delta_blobs_total')).toBe(deltasBefore + 1);
    expect(await metric(coordinator, 'pbk_delta_saved_bytes_total')).toBe(savedBefore + b.sealed.length - (stored - tree.root.sealed.length));

    // The catalog recorded it: the operator's listing shows the same figure.
    const list = await call<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse__Output>(admin as unknown as Client, 'listSnapshots', { host: 'db-delta', source: 'etc', limit: 1 });
    expect(list.snapshots[0]!.id.equals(snapshot!.id)).toBe(true);
    expect(list.snapshots[0]!.stats!.storedBytes).toBe(String(stored));
  }, 120_000);

  it('DownloadBlobs sends the base (base_only) just before the delta, and together they open to the chunk', async () => {
    const msgs = await collect<v1.DownloadBlobsResponse__Output>(agent.downloadBlobs({ snapshotId: second.snapshot.id, ids: [second.idB] }));
    const keys = new Map(msgs.flatMap((m) => m.keys).map((k) => [k.id.toString('hex'), k]));
    // Two runs, two DEKs: the base's and the delta's, each once.
    expect(keys.size).toBe(2);
    const idKey = msgs[0]!.idKey;
    const assembler = new BlobAssembler();
    const blobs = msgs.flatMap((m) => assembler.push(m.parts));
    expect(blobs.map((b) => [b.id.toString('hex'), b.baseOnly ?? false, b.deltaBase?.toString('hex')])).toEqual([
      [second.idA.toString('hex'), true, undefined],
      [second.idB.toString('hex'), false, second.idA.toString('hex')],
    ]);
    const [base, delta] = blobs as [(typeof blobs)[0], (typeof blobs)[0]];
    expect(delta.sealed.length).toBeLessThan(second.fullB / 10);
    const basePlain = openChunk(keys.get(base.dekId.toString('hex'))!, idKey, base.id, base.sealed, base.rawLength);
    expect(basePlain.equals(plainA)).toBe(true);
    expect(openChunk(keys.get(delta.dekId.toString('hex'))!, idKey, delta.id, delta.sealed, delta.rawLength, undefined, basePlain).equals(plainB)).toBe(true);
    // Without its base the delta does not open.
    expect(() => openChunk(keys.get(delta.dekId.toString('hex'))!, idKey, delta.id, delta.sealed, delta.rawLength)).toThrow();
  });

  it('hands out a base only for a snapshot one of whose blobs needs it', async () => {
    // Asked for directly with the snapshot whose delta needs it: served as an ordinary blob.
    const direct = await collect<v1.DownloadBlobsResponse__Output>(agent.downloadBlobs({ snapshotId: second.snapshot.id, ids: [second.idA] }));
    const got = direct.flatMap((m) => new BlobAssembler().push(m.parts));
    expect(got.map((b) => [b.id.toString('hex'), b.baseOnly ?? false])).toEqual([[second.idA.toString('hex'), false]]);
    // A snapshot that neither references it nor has a delta against it: refused, as any id it does not name.
    const other = await backupByHand(agent, [{ name: 'other', data: randomBytes(10_000) }], FILES_SOURCE('other'));
    const err = await expectRemote(collect(agent.downloadBlobs({ snapshotId: other.snapshot.id, ids: [second.idA] })));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toContain(second.idA.toString('hex'));
  });

  it('verify reads every blob, delta blobs with their base, and finds nothing wrong', async () => {
    const updates = await collect<v1.VerifyUpdate__Output>(admin.verify({ readDataPercent: 100 }));
    const report = updates.at(-1)!.report!;
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(Number(report.snapshotsChecked)).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('GetWal sends a WAL blob stored as a delta with its base, so the file reads back whole', async () => {
    // Agents never hint WAL blobs; the coordinator honours a hint on any data blob, so GetWal must cope.
    let begin!: v1.BeginBackupResponse__Output;
    const wal = walOps(
      () => agent,
      () => begin,
    );
    begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c(), 'beginBackup', { source: PG_SOURCE(), walStream: true });
    const seg1 = tableText(16 * 1024);
    await wal.putWal('000000010000000000000001', seg1, true);
    // The next segment: every 4 KiB piece one byte off its counterpart in the first.
    const seg2 = Buffer.from(seg1);
    for (let off = 100; off < seg2.length; off += 4096) seg2[off]! ^= 0x20;
    const pieces1 = wal.pieces(seg1);
    const pieces2 = wal.pieces(seg2);
    const deltasBefore = await metric(coordinator, 'pbk_delta_blobs_total');
    await call(c(), 'missingBlobs', { runId: begin.runId, ids: pieces2.map((p) => p.id) });
    await upload(agent, begin.runId, pieces2, new Map(pieces2.map((p, i) => [p.id.toString('hex'), pieces1[i]!.id])));
    await wal.putWal('000000010000000000000002', seg2, true, { uploadBlobs: false });
    expect(await metric(coordinator, 'pbk_delta_blobs_total')).toBe(deltasBefore + pieces2.length);
    const got = await wal.getWal('000000010000000000000002');
    expect(got.data.equals(seg2)).toBe(true);
    expect((await wal.getWal('000000010000000000000001')).data.equals(seg1)).toBe(true);
  }, 120_000);

  it('the repository on disk holds the chunk as a delta against its base, at the size the run reported', async () => {
    const code = await coordinator.stop('SIGTERM');
    expect(code).toBe(0);
    const repo = await Repository.open(new LocalBackend(join(dir, 'repository')), { kind: 'key', key: await readKeyFile(join(dir, 'kek.key')) });
    const entry = repo.index.get(second.idB)!;
    expect(entry.deltaBase?.equals(second.idA)).toBe(true);
    expect(repo.index.get(second.idA)?.deltaBase).toBeUndefined();
    expect(entry.length + repo.index.get(second.treeId)!.length).toBe(Number(second.snapshot.stats!.storedBytes));
    expect((await repo.readBlob(second.idB)).equals(plainB)).toBe(true);
    await reconnect();
  }, 120_000);

  it("a run's stored_bytes survives a coordinator restart in the middle of the run", async () => {
    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c(), 'beginBackup', { source: FILES_SOURCE('restart'), mode: 'BACKUP_MODE_FULL' });
    const tree = buildTree({ id: begin.dek!.id, key: begin.dek!.key }, begin.idKey, [
      { name: 'one', data: randomBytes(100_000) },
      { name: 'two', data: randomBytes(100_000) },
    ]);
    await call(c(), 'missingBlobs', { runId: begin.runId, ids: tree.blobs.map((b) => b.id) });
    await upload(agent, begin.runId, tree.blobs.slice(0, 1));
    await coordinator.stop('SIGTERM');
    await reconnect();
    await call(c(), 'missingBlobs', { runId: begin.runId, ids: tree.blobs.map((b) => b.id) });
    await upload(agent, begin.runId, tree.blobs.slice(1));
    const { snapshot } = await call<v1.CommitBackupRequest, v1.CommitBackupResponse__Output>(c(), 'commitBackup', { runId: begin.runId, treeRoot: tree.root.id, timeUnixMs: Date.now(), stats: { files: 2 } });
    expect(Number(snapshot!.stats!.storedBytes)).toBe(tree.blobs.reduce((n, b) => n + b.sealed.length, 0));
  }, 120_000);
});

/** A fresh coordinator process on the same data directory, and clients for it. */
async function reconnect(): Promise<void> {
  agent.close();
  admin.close();
  coordinator = await serve(dir);
  admin = operatorClient(coordinator.ready.grpc, await adminCreds(dir));
  agent = agentClient(coordinator.ready.grpc, host);
}
