/**
 * pbk-coordinator end to end: the built binary, real processes, real mTLS.
 * One coordinator serves the whole file (init + first PGlite open cost ~10 s
 * on the 2-core CI machine); each test uses its own hosts and sources.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as GrpcStatus, type Client } from '@grpc/grpc-js';
import { openBlob } from '@pbk/crypto';
import { BlobAssembler, createCa, createKeyAndCsr, signCsr, type v1 } from '@pbk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminCreds,
  agentClient,
  backupByHand,
  buildTree,
  call,
  cli,
  collect,
  enroll,
  expectRemote,
  FILES_SOURCE,
  httpGet,
  initData,
  metric,
  operatorClient,
  serve,
  tempDir,
  token,
  upload,
  type AgentCreds,
  type Serving,
} from './harness.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dir: string;
let coordinator: Serving;
let admin: v1.OperatorServiceClient;
let web1: AgentCreds;
let web1Client: v1.AgentServiceClient;
const clients: { close(): void }[] = [];

function track<T extends { close(): void }>(c: T): T {
  clients.push(c);
  return c;
}

beforeAll(async () => {
  tmp = await tempDir();
  dir = join(tmp.dir, 'data');
  await initData(dir, {}, ['--san', 'backup.example']);
  coordinator = await serve(dir);
  admin = track(operatorClient(coordinator.ready.grpc, await adminCreds(dir)));
  web1 = await enroll(coordinator, dir, 'web-1');
  web1Client = track(agentClient(coordinator.ready.grpc, web1));
});

afterAll(async () => {
  for (const c of clients) c.close();
  const code = await coordinator?.stop('SIGTERM');
  // PBK_TEST_LOG=FILE keeps the coordinator's log for reading.
  if (process.env.PBK_TEST_LOG) await writeFile(process.env.PBK_TEST_LOG, coordinator.lines.join('\n') + '\n');
  expect(code).toBe(0);
  // Every refusal above was one of ours (logged 'call refused'); nothing failed unexpectedly.
  const unexpected = coordinator.lines.filter((l) => l.includes('"level":"error"'));
  expect(unexpected).toEqual([]);
  expect(coordinator.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  await tmp?.cleanup();
});

describe('init and serve', () => {
  it('lays out the data directory with private keys 0600 and refuses a second init', async () => {
    const mode = async (p: string): Promise<string> => ((await stat(join(dir, p))).mode & 0o777).toString(8);
    for (const p of ['kek.key', 'token.key', 'tls/ca.key', 'tls/server.key', 'admin/client.key', 'coordinator.json']) expect(await mode(p), p).toBe('600');
    for (const p of ['tls/ca.pem', 'tls/server.pem', 'admin/ca.pem', 'admin/client.pem']) expect(await mode(p), p).toBe('644');
    for (const p of ['.', 'catalog', 'repository']) expect(await mode(p), p).toBe('700');
    expect((await readFile(join(dir, 'kek.key'), 'ascii')).trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const config = JSON.parse(await readFile(join(dir, 'coordinator.json'), 'utf8')) as Record<string, string>;
    expect(config).toMatchObject({ listen: '127.0.0.1:7443', enrollListen: '127.0.0.1:7444', http: '127.0.0.1:7480', region: 'default' });
    await stat(join(dir, 'repository', 'config'));
    const again = await cli(['init', '--data', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already an initialized');
  });

  it('prints one JSON ready line with the real ports', () => {
    const r = coordinator.readyLine;
    expect(r).toMatchObject({ level: 'info', component: 'serve', event: 'ready', msg: 'pbk-coordinator ready', catalog: 'embedded', region: 'default' });
    const ports = r.ports as Record<string, number>;
    for (const k of ['grpc', 'enroll', 'http']) expect(ports[k]).toBeGreaterThan(0);
    expect(r.grpc).toBe(`127.0.0.1:${ports.grpc}`);
  });

  it('serves /health and Prometheus /metrics', async () => {
    const h = await httpGet(coordinator, '/health');
    expect(h.status).toBe(200);
    expect(JSON.parse(h.body)).toMatchObject({ ok: true, repository: { ok: true }, catalog: { ok: true, kind: 'embedded' } });
    const m = await httpGet(coordinator, '/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain; version=0.0.4');
    for (const name of ['pbk_backups_committed_total', 'pbk_backups_failed_total', 'pbk_upload_bytes_received_total', 'pbk_blobs_stored_total', 'pbk_agents_connected']) {
      expect(m.body).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    }
    expect((await httpGet(coordinator, '/nope')).status).toBe(404);
  });
});

describe('mutual TLS and roles', () => {
  it('refuses a client without a certificate in the handshake', async () => {
    const caPem = await readFile(join(dir, 'tls', 'ca.pem'), 'utf8');
    const anon = track(operatorClient(coordinator.ready.grpc, { caPem }));
    const err = await expectRemote(call(anon as unknown as Client, 'status', {}, 5000));
    expect(err.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.metadata.get('pbk-code')).toEqual([]); // never reached a handler
  });

  it('refuses a client certificate from another CA', async () => {
    const caPem = await readFile(join(dir, 'tls', 'ca.pem'), 'utf8');
    const rogue = await createCa({ commonName: 'rogue', validDays: 1 });
    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: 'x' });
    const certPem = await signCsr(rogue, csrPem, { role: 'admin', validDays: 1 });
    const c = track(operatorClient(coordinator.ready.grpc, { caPem, certPem, keyPem }));
    const err = await expectRemote(call(c as unknown as Client, 'status', {}, 5000));
    expect(err.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.metadata.get('pbk-code')).toEqual([]);
  });

  it('gates RPCs by role: agents cannot operate, auditors only read', async () => {
    const asAgent = track(operatorClient(coordinator.ready.grpc, web1));
    expect((await expectRemote(call(asAgent as unknown as Client, 'status', {}))).code).toBe('PERMISSION_DENIED');
    const ca = { certPem: await readFile(join(dir, 'tls', 'ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'tls', 'ca.key'), 'utf8') };
    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: 'auditor' });
    const certPem = await signCsr(ca, csrPem, { role: 'auditor', validDays: 1 });
    const auditor = track(operatorClient(coordinator.ready.grpc, { caPem: ca.certPem, certPem, keyPem }));
    await call(auditor as unknown as Client, 'listSnapshots', {});
    const err = await expectRemote(collect(auditor.verify({ readDataPercent: 0 })));
    expect(err.code).toBe('PERMISSION_DENIED');
    const adminAsAgent = track(agentClient(coordinator.ready.grpc, await adminCreds(dir)));
    expect((await expectRemote(call(adminAsAgent as unknown as Client, 'heartbeat', {}))).code).toBe('PERMISSION_DENIED');
  });
});

describe('enrollment tokens', () => {
  it('prints the token alone on stdout, in the contract format', async () => {
    const r = await cli(['token', '--data', dir, '--host', 'db-1', '--ttl', '15m']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pbk1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\n$/);
    const payload = JSON.parse(Buffer.from(r.stdout.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ h: 'db-1', p: coordinator.ready.ports.enroll });
    expect(Math.abs((payload.e as number) - Date.now() - 15 * 60_000)).toBeLessThan(60_000);
  });

  it('works once: a second use is refused', async () => {
    const tok = await token(dir, 'db-2');
    await enroll(coordinator, dir, 'db-2', tok);
    const err = await expectRemote(enroll(coordinator, dir, 'db-2', tok));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain('already used');
  });

  it('refuses an expired token, one for another host, a revoked one and a forged one', async () => {
    const short = await token(dir, 'db-3', ['--ttl', '1s']);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await expectRemote(enroll(coordinator, dir, 'db-3', short));
    expect(expired.code).toBe('UNAUTHENTICATED');
    expect(expired.message).toContain('expired');

    const other = await token(dir, 'db-4');
    const wrongHost = await expectRemote(enroll(coordinator, dir, 'db-5', other));
    expect(wrongHost.code).toBe('PERMISSION_DENIED');
    // The refused token was not burnt: its own host can still use it.
    await enroll(coordinator, dir, 'db-4', other);

    const revokedToken = await token(dir, 'db-7');
    const revoke = await cli(['token', '--data', dir, '--host', 'db-7', '--revoke', 'yes']);
    expect(revoke.code).toBe(0);
    const revoked = await expectRemote(enroll(coordinator, dir, 'db-7', revokedToken));
    expect(revoked.code).toBe('UNAUTHENTICATED');
    expect(revoked.message).toContain('revoked');
    // A token issued after the revocation works.
    await new Promise((r) => setTimeout(r, 5));
    await enroll(coordinator, dir, 'db-7', await token(dir, 'db-7'));

    const [head, body] = (await token(dir, 'db-6')).split('.');
    const forged = await expectRemote(enroll(coordinator, dir, 'db-6', `${head}.${body}.${randomBytes(32).toString('base64url')}`));
    expect(forged.code).toBe('UNAUTHENTICATED');
  });
});

describe('backups', () => {
  it('takes a backup by hand, lists it, verifies clean, and dedups the next one', async () => {
    const files = [
      { name: 'hosts', data: Buffer.from('127.0.0.1 localhost\n') },
      { name: 'big.bin', data: randomBytes(3 * 1024 * 1024 + 17) },
      { name: 'empty', data: Buffer.alloc(0) },
    ];
    const before = await metric(coordinator, 'pbk_backups_committed_total');
    const first = await backupByHand(web1Client, files);
    expect(first.missing.length).toBe(first.tree.blobs.length);
    expect(first.snapshot.source).toMatchObject({ host: 'web-1', kind: 'SOURCE_KIND_FILES', name: 'etc' });
    expect(first.snapshot.treeRoot.equals(first.tree.root.id)).toBe(true);
    expect(first.snapshot.labels).toEqual({ test: 'yes' });
    expect(first.snapshot.mode).toBe('BACKUP_MODE_FULL');
    expect(first.snapshot.runId.equals(first.begin.runId)).toBe(true);

    // Same content again: a fresh run and DEK, and nothing to upload but a new tree (same tree bytes -> same id, so not even that).
    const second = await backupByHand(web1Client, files);
    expect(second.begin.dek!.id.equals(first.begin.dek!.id)).toBe(false);
    expect(second.begin.idKey.equals(first.begin.idKey)).toBe(true);
    expect(second.missing.length).toBe(0);
    expect(await metric(coordinator, 'pbk_backups_committed_total')).toBe(before + 2);

    const list = await call<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse__Output>(admin as unknown as Client, 'listSnapshots', { host: 'web-1', source: 'etc', limit: 1 });
    expect(list.snapshots.map((s) => s.id.toString('hex'))).toEqual([second.snapshot.id.toString('hex')]);
    expect(list.nextPageToken).not.toBe('');
    const page2 = await call<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse__Output>(admin as unknown as Client, 'listSnapshots', { host: 'web-1', source: 'etc', limit: 1, pageToken: list.nextPageToken });
    expect(page2.snapshots[0]!.id.equals(first.snapshot.id)).toBe(true);

    const updates = await collect<v1.VerifyUpdate__Output>(admin.verify({ readDataPercent: 100 }));
    expect(updates[0]!.update).toBe('accepted');
    const report = updates.at(-1)!.report!;
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(Number(report.snapshotsChecked)).toBeGreaterThanOrEqual(2);

    const status = await call<v1.StatusRequest, v1.StatusResponse__Output>(admin as unknown as Client, 'status', {});
    const src = status.sources.find((s) => s.source?.host === 'web-1' && s.source.name === 'etc');
    expect(src?.state).toBe('ok');
    expect(status.agents.find((a) => a.host === 'web-1')).toMatchObject({ agentVersion: 'test-agent 0' });

    // The agent reads its own snapshot back: sealed blobs plus each DEK once, which open to the original bytes.
    const got = await call<v1.GetSnapshotRequest, v1.GetSnapshotResponse__Output>(web1Client as unknown as Client, 'getSnapshot', {
      at: { source: FILES_SOURCE(), timeUnixMs: 0 },
    });
    expect(got.snapshot!.id.equals(second.snapshot.id)).toBe(true);
    const big = first.tree.blobs.filter((b) => b.type === 'data' && b.rawLength > 1000);
    const msgs = await collect<v1.DownloadBlobsResponse__Output>(web1Client.downloadBlobs({ snapshotId: second.snapshot.id, ids: big.map((b) => b.id) }));
    const keys = msgs.flatMap((m) => m.keys);
    expect(keys.length).toBe(1); // all of them sealed in the first run
    const assembler = new BlobAssembler();
    const blobs = msgs.flatMap((m) => assembler.push(m.parts));
    expect(blobs.map((b) => b.id.toString('hex'))).toEqual(big.map((b) => b.id.toString('hex')));
    const plain = Buffer.concat(blobs.map((b) => openBlob({ id: keys[0]!.id, key: keys[0]!.key }, b.id, b.sealed).subarray(1)));
    expect(plain.length).toBeGreaterThan(0);
  });

  it('refuses a blob whose content does not match its id: CORRUPT, nothing stored', async () => {
    const c = web1Client as unknown as Client;
    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE('corrupt') });
    const dek = { id: begin.dek!.id, key: begin.dek!.key };
    const { blobs } = buildTree(dek, begin.idKey, [{ name: 'a', data: randomBytes(5000) }]);
    const good = blobs[0]!;
    // Correctly sealed, but under someone else's id: the coordinator re-hashes the plaintext.
    const liar = { ...good, id: randomBytes(32) };
    // And one whose ciphertext was flipped.
    const flipped = { ...good, sealed: Buffer.from(good.sealed) };
    flipped.sealed[20]! ^= 1;
    const rejectedBefore = await metric(coordinator, 'pbk_blobs_rejected_total');
    for (const bad of [liar, flipped]) {
      await call(c, 'missingBlobs', { runId: begin.runId, ids: [bad.id] });
      const err = await expectRemote(upload(web1Client, begin.runId, [bad]));
      expect(err.code).toBe('CORRUPT');
      expect(err.grpcCode).toBe(GrpcStatus.DATA_LOSS);
      expect(err.message).toContain(bad.id.toString('hex'));
      // Nothing of it was stored: asked again, it is still missing (and the claim was released).
      const again = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c, 'missingBlobs', { runId: begin.runId, ids: [bad.id] });
      expect(again.missing.map((m) => m.toString('hex'))).toEqual([bad.id.toString('hex')]);
    }
    expect(await metric(coordinator, 'pbk_blobs_rejected_total')).toBe(rejectedBefore + 2);
    const failedBefore = await metric(coordinator, 'pbk_backups_failed_total');
    await call(c, 'abortBackup', { runId: begin.runId, failure: { code: 'CORRUPT', message: 'test' } });
    expect(await metric(coordinator, 'pbk_backups_failed_total')).toBe(failedBefore + 1);
  });

  it('refuses a commit whose tree names blobs that were never uploaded', async () => {
    const c = web1Client as unknown as Client;
    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE('partial') });
    const tree = buildTree({ id: begin.dek!.id, key: begin.dek!.key }, begin.idKey, [{ name: 'x', data: randomBytes(2000) }]);
    await upload(web1Client, begin.runId, [tree.root]); // the tree, not its data
    const err = await expectRemote(call(c, 'commitBackup', { runId: begin.runId, treeRoot: tree.root.id }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain(tree.blobs[0]!.id.toString('hex'));
  });

  it('takes concurrent uploads of the same blobs once, and both runs commit', async () => {
    const c = web1Client as unknown as Client;
    const files = Array.from({ length: 8 }, (_, i) => ({ name: `f${i}`, data: randomBytes(300_000) }));
    const runs = await Promise.all(
      ['conc-a', 'conc-b'].map(async (name) => {
        const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE(name) });
        return { begin, tree: buildTree({ id: begin.dek!.id, key: begin.dek!.key }, begin.idKey, files) };
      }),
    );
    // Each run seals with its own DEK, so the sealed bytes differ but the ids (keyed hash of plaintext) are the same.
    expect(runs[0]!.tree.root.id.equals(runs[1]!.tree.root.id)).toBe(true);
    // Both upload everything at once, without asking MissingBlobs: the coordinator stores each id once.
    const acks = await Promise.all(runs.map((r) => upload(web1Client, r.begin.runId, r.tree.blobs)));
    expect(acks.reduce((n, a) => n + Number(a.blobsStored), 0)).toBe(runs[0]!.tree.blobs.length);
    expect(acks.reduce((n, a) => n + Number(a.blobsDuplicate), 0)).toBe(runs[0]!.tree.blobs.length);
    for (const r of runs) await call(c, 'commitBackup', { runId: r.begin.runId, treeRoot: r.tree.root.id });
  });

  it('refuses a message over the size limit with RESOURCE_EXHAUSTED', async () => {
    const big = track(agentClient(coordinator.ready.grpc, web1, { 'grpc.max_send_message_length': 64 << 20 }));
    const ids = Array.from({ length: 160_000 }, () => randomBytes(32)); // ~5.4 MB, over the 4 MiB limit
    const err = await expectRemote(call(big as unknown as Client, 'missingBlobs', { runId: randomBytes(16), ids }));
    expect(err.grpcCode).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });
});

describe('an agent reads only its own host', () => {
  it("gets PERMISSION_DENIED for another host's snapshot, its runs and its sources", async () => {
    const mine = await backupByHand(web1Client, [{ name: 'secret', data: Buffer.from('web-1 only') }], FILES_SOURCE('private'));
    const web2 = await enroll(coordinator, dir, 'web-2');
    const web2Client = track(agentClient(coordinator.ready.grpc, web2));
    const c2 = web2Client as unknown as Client;
    const byId = await expectRemote(call(c2, 'getSnapshot', { snapshotId: mine.snapshot.id }));
    expect(byId.code).toBe('PERMISSION_DENIED');
    const download = await expectRemote(collect(web2Client.downloadBlobs({ snapshotId: mine.snapshot.id, ids: [mine.tree.root.id] })));
    expect(download.code).toBe('PERMISSION_DENIED');
    const otherSource = await expectRemote(call(c2, 'getSnapshot', { at: { source: { host: 'web-1', kind: 'SOURCE_KIND_FILES', name: 'private' } } }));
    expect(otherSource.code).toBe('PERMISSION_DENIED');
    const begin = await expectRemote(call(c2, 'beginBackup', { source: { host: 'web-1', kind: 'SOURCE_KIND_FILES', name: 'x' } }));
    expect(begin.code).toBe('PERMISSION_DENIED');
    const missing = await expectRemote(call(c2, 'missingBlobs', { runId: mine.begin.runId, ids: [] }));
    expect(missing.code).toBe('PERMISSION_DENIED');
    // Its own ids that the snapshot does not reference are refused too.
    const notInSnapshot = await expectRemote(collect(web1Client.downloadBlobs({ snapshotId: mine.snapshot.id, ids: [randomBytes(32)] })));
    expect(notInSnapshot.code).toBe('PERMISSION_DENIED');
  });
});

describe('operator commands through the Control stream', () => {
  it('runs StartBackup --wait through a connected agent, and a cross-host restore grants exactly that snapshot', async () => {
    const host = await enroll(coordinator, dir, 'app-1');
    const agent = track(agentClient(coordinator.ready.grpc, host));
    const other = await backupByHand(web1Client, [{ name: 'f', data: Buffer.from('from web-1') }], FILES_SOURCE('shared'));
    const control = agent.control();
    const seen: string[] = [];
    control.on('data', (msg: v1.CoordinatorMessage__Output) => {
      const cmd = msg.command!;
      seen.push(cmd.action!);
      control.write({ ack: { commandId: cmd.commandId, accepted: true } });
      control.write({ progress: { commandId: cmd.commandId, progress: { phase: 'uploading', bytesDone: 1, itemsDone: 1 } } });
      void (async () => {
        if (cmd.action === 'backup') {
          const done = await backupByHand(agent, [{ name: 'app.conf', data: Buffer.from('x=1') }], { host: '', kind: cmd.backup!.source!.kind, name: cmd.backup!.source!.name });
          control.write({ result: { commandId: cmd.commandId, snapshot: done.snapshot } });
        } else {
          // Restoring web-1's snapshot onto app-1: allowed for this command only.
          const snapId = cmd.restore!.snapshot!.id;
          await call(agent as unknown as Client, 'getSnapshot', { snapshotId: snapId });
          const msgs = await collect<v1.DownloadBlobsResponse__Output>(agent.downloadBlobs({ snapshotId: snapId, ids: [cmd.restore!.snapshot!.treeRoot] }));
          control.write({ result: { commandId: cmd.commandId, restore: { targetDir: cmd.restore!.targetDir, files: 1, bytes: msgs.length } } });
        }
      })();
    });
    control.write({ hello: { agentVersion: 'fake 1', sources: [{ host: 'app-1', kind: 'SOURCE_KIND_FILES', name: 'conf' }] } });
    await expect.poll(() => metric(coordinator, 'pbk_agents_connected'), { timeout: 5000 }).toBeGreaterThanOrEqual(1);

    const backup = await collect<v1.StartBackupUpdate__Output>(admin.startBackup({ source: { host: 'app-1', name: 'conf' }, wait: true }));
    expect(backup.map((u) => u.update)).toEqual(['accepted', 'progress', 'snapshot']);
    expect(backup[2]!.snapshot!.source).toMatchObject({ host: 'app-1', name: 'conf', kind: 'SOURCE_KIND_FILES' });

    const restore = await collect<v1.RestoreUpdate__Output>(
      admin.restore({ source: { host: 'web-1', name: 'shared', kind: 'SOURCE_KIND_FILES' }, targetHost: 'app-1', files: { targetDir: '/srv/restore', path: '' } }),
    );
    expect(restore.map((u) => u.update)).toEqual(['accepted', 'progress', 'done']);
    expect(restore[2]!.done).toMatchObject({ targetHost: 'app-1', targetDir: '/srv/restore' });
    expect(restore[2]!.done!.snapshot!.id.equals(other.snapshot.id)).toBe(true);
    expect(seen).toEqual(['backup', 'restore']);
    // The grant ended with the command.
    expect((await expectRemote(call(agent as unknown as Client, 'getSnapshot', { snapshotId: other.snapshot.id }))).code).toBe('PERMISSION_DENIED');

    const notConnected = await expectRemote(collect(admin.startBackup({ source: { host: 'db-2', name: 'x', kind: 'SOURCE_KIND_FILES' } })));
    expect(notConnected.code).toBe('UNAVAILABLE');
    control.end();
  });

  it('tells the agent to cancel a restore when the operator cancels the call (Ctrl-C)', async () => {
    const host = await enroll(coordinator, dir, 'app-2');
    const agent = track(agentClient(coordinator.ready.grpc, host));
    await backupByHand(agent, [{ name: 'f', data: Buffer.from('data') }], FILES_SOURCE('cancel-me'));
    const control = agent.control();
    const got: v1.CoordinatorMessage__Output[] = [];
    control.on('data', (msg: v1.CoordinatorMessage__Output) => {
      got.push(msg);
      if (msg.command) {
        // Accept and keep "working": only a cancel ends this restore.
        control.write({ ack: { commandId: msg.command.commandId, accepted: true } });
        control.write({ progress: { commandId: msg.command.commandId, progress: { phase: 'restoring', bytesDone: 1 } } });
      } else if (msg.cancel) {
        control.write({ result: { commandId: msg.cancel.commandId, failure: { code: 'CANCELLED', message: 'cancelled' } } });
      }
    });
    control.write({ hello: { agentVersion: 'fake 1', sources: [{ host: 'app-2', kind: 'SOURCE_KIND_FILES', name: 'cancel-me' }] } });
    await expect
      .poll(async () => (await call<v1.StatusRequest, v1.StatusResponse__Output>(admin as unknown as Client, 'status', {})).agents.some((a) => a.host === 'app-2' && a.connected), { timeout: 5000 })
      .toBe(true);
    const stream = admin.restore({ source: { host: 'app-2', name: 'cancel-me', kind: 'SOURCE_KIND_FILES' }, files: { targetDir: '/srv/r', path: '' } });
    stream.on('error', () => undefined); // the cancellation itself
    await new Promise<void>((resolve) => stream.once('data', (u: v1.RestoreUpdate__Output) => u.update === 'accepted' && resolve()));
    stream.cancel();
    await expect.poll(() => got.some((m) => m.cancel !== undefined && m.cancel !== null), { timeout: 10_000 }).toBe(true);
    const cmd = got.find((m) => m.command)!.command!;
    const cancel = got.find((m) => m.cancel)!.cancel!;
    expect(cancel.commandId.equals(cmd.commandId)).toBe(true);
    expect(cancel.reason).toContain('operator cancelled');
    control.end();
  });
});
