// The built CLI (`node apps/cli/dist/main.js`) against a REAL grpc-js server
// on port 0 with mutual TLS certificates from @pbk/protocol, answering
// OperatorService just enough for these cases. Checks stdout JSON, human
// output and exit codes, including the failure paths an SRE meets at 3 a.m.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, type ServerWritableStream } from '@grpc/grpc-js';
import {
  authorize,
  createCa,
  createKeyAndCsr,
  issueServerCert,
  loadProtocol,
  ProtocolError,
  serverCredentials,
  serverOptions,
  signCsr,
  toGrpcStatus,
  writeCertificateFile,
  writePrivateKeyFile,
  type KeyAndCert,
  type Role,
  type v1,
} from '@pbk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../src/connection.js';
import { loadCredentials } from '../src/credentials.js';
import { CommandError } from '../src/errors.js';
import { exitCodeFor } from '../src/main.js';
import { connectOperator } from '../src/operator.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(repoRoot, 'apps/cli/dist/main.js');
const NOW = Date.now();
const HOUR = 3_600_000;
const READERS: Role[] = ['auditor', 'operator', 'admin'];
const WRITERS: Role[] = ['operator', 'admin'];

let root: string;
let server: Server;
let address: string;
const creds: Record<'admin' | 'auditor' | 'wrongCa' | 'foreign', string> = { admin: '', auditor: '', wrongCa: '', foreign: '' };
const seen = {
  restores: [] as v1.RestoreRequest__Output[],
  listRequests: [] as v1.ListSnapshotsRequest__Output[],
  slowStarted: undefined as (() => void) | undefined,
  slowCancelled: undefined as (() => void) | undefined,
};

function id(byte: number): Buffer {
  return Buffer.alloc(16, byte);
}

function snapshot(n: number, hoursAgo: number): v1.SnapshotInfo {
  return {
    id: id(0xa0 + n),
    source: { host: 'db-1', kind: 'SOURCE_KIND_FILES', name: 'etc' },
    runId: id(0x10 + n),
    mode: n === 1 ? 'BACKUP_MODE_FULL' : 'BACKUP_MODE_INCREMENTAL',
    timeUnixMs: String(NOW - hoursAgo * HOUR),
    committedUnixMs: String(NOW - hoursAgo * HOUR + 42_000),
    treeRoot: Buffer.alloc(32, n),
    stats: { files: '1200', dirs: '80', totalBytes: String(3 * 1024 ** 3), newBytes: String(n * 1024 ** 2), uploadedBytes: String(n * 512 * 1024), newBlobs: '7', skipped: '0', storedBytes: String(n * 128 * 1024) },
    paths: ['/etc'],
    labels: { tag: `n${n}` },
  };
}

// Newest first, as the coordinator returns them.
const SNAPSHOTS = [snapshot(3, 1), snapshot(2, 2), snapshot(1, 3)];

function fail(call: ServerWritableStream<unknown, unknown>, code: ConstructorParameters<typeof ProtocolError>[0], message: string): void {
  call.emit('error', toGrpcStatus(new ProtocolError(code, message)));
}

/** Runs a server-stream handler after the role check; any throw becomes the stream's status. */
function guarded<Req, Res>(roles: Role[], body: (call: ServerWritableStream<Req, Res>) => void) {
  return (call: ServerWritableStream<Req, Res>): void => {
    try {
      authorize(call, roles);
      body(call);
    } catch (err) {
      call.emit('error', toGrpcStatus(err));
    }
  };
}

const progress = (done: number, total: number): v1.Progress => ({ phase: 'uploading', bytesDone: String(done), bytesTotal: String(total), itemsDone: '1', itemsTotal: '3', elapsedMs: '1000' });

const handlers: v1.OperatorServiceHandlers = {
  Status(call, callback) {
    try {
      authorize(call, READERS);
    } catch (err) {
      return callback(toGrpcStatus(err));
    }
    callback(null, {
      coordinatorVersion: '0.1.0-test',
      serverTimeUnixMs: String(Date.now()),
      region: 'eu-1',
      primary: true,
      agents: [
        { host: 'db-1', agentVersion: '0.1.0', connected: true, lastHeartbeatUnixMs: String(Date.now() - 12_000), certNotAfterUnixMs: String(NOW + 300 * 24 * HOUR) },
        { host: 'web-7', agentVersion: '0.1.0', connected: false, lastHeartbeatUnixMs: String(NOW - 3 * HOUR), certNotAfterUnixMs: String(NOW + 2 * 24 * HOUR) },
      ],
      sources: [
        { source: { host: 'db-1', kind: 'SOURCE_KIND_FILES', name: 'etc' }, lastSnapshot: SNAPSHOTS[0], lastSuccessUnixMs: String(NOW - HOUR), rpoAgeMs: String(HOUR), rpoTargetMs: String(24 * HOUR), state: 'ok' },
        {
          source: { host: 'web-7', kind: 'SOURCE_KIND_FILES', name: 'www' },
          lastFailureUnixMs: String(NOW - 3 * HOUR),
          lastFailure: { code: 'UNAVAILABLE', message: 'agent web-7 is not connected' },
          rpoAgeMs: String(30 * HOUR),
          rpoTargetMs: String(24 * HOUR),
          state: 'late',
        },
      ],
      repository: { snapshots: '3', packs: '4', blobs: '1234', storedBytes: String(2 * 1024 ** 3) },
    });
  },

  ListSnapshots(call, callback) {
    try {
      authorize(call, READERS);
    } catch (err) {
      return callback(toGrpcStatus(err));
    }
    const req = call.request;
    seen.listRequests.push(req);
    if (req.host === 'ghost') return callback(toGrpcStatus(new ProtocolError('NOT_FOUND', "no host 'ghost' has enrolled: see pbk status")));
    const matching = SNAPSHOTS.filter((s) => (req.host === '' || s.source?.host === req.host) && (req.source === '' || s.source?.name === req.source));
    // Pages of at most 2, whatever was asked, so the CLI must follow tokens.
    const offset = Number(req.pageToken || '0');
    const size = Math.min(req.limit || 100, 2);
    const page = matching.slice(offset, offset + size);
    callback(null, { snapshots: page, nextPageToken: offset + size < matching.length ? String(offset + size) : '' });
  },

  StartBackup: guarded<v1.StartBackupRequest__Output, v1.StartBackupUpdate>(WRITERS, (call) => {
    const { source, wait, mode } = call.request;
    const jobId = id(0x77);
    if (source?.name === 'missing') return fail(call, 'NOT_FOUND', `host ${source.host} has no source 'missing'`);
    if (source?.name === 'rotten') return fail(call, 'CORRUPT', 'pack 3f2a is damaged at offset 4096');
    call.write({ jobId, accepted: { acceptedUnixMs: String(Date.now()), host: source?.host ?? '' } });
    if (source?.name === 'slow') {
      call.on('cancelled', () => seen.slowCancelled?.());
      seen.slowStarted?.();
      return; // never ends: only a cancel stops it
    }
    if (!wait) return call.end();
    const total = 3 * 1024 ** 3;
    for (const done of [0, total / 3, total]) call.write({ jobId, progress: progress(done, total) });
    call.write({ jobId, snapshot: { ...snapshot(4, 0), mode: mode === 'BACKUP_MODE_FULL' ? 'BACKUP_MODE_FULL' : 'BACKUP_MODE_INCREMENTAL' } });
    call.end();
  }),

  Restore: guarded<v1.RestoreRequest__Output, v1.RestoreUpdate>(WRITERS, (call) => {
    const req = call.request;
    seen.restores.push(req);
    const jobId = id(0x78);
    if (req.files?.targetDir === '/srv/nonempty' && !req.files.force) {
      return fail(call, 'FAILED_PRECONDITION', 'target directory /srv/nonempty on db-1 is not empty: pass --force to restore into it');
    }
    const snap = req.snapshotId.length > 0 ? SNAPSHOTS.find((s) => Buffer.compare(s.id as Buffer, req.snapshotId) === 0) : SNAPSHOTS[0];
    if (!snap) return fail(call, 'NOT_FOUND', 'no such snapshot');
    call.write({ jobId, accepted: { acceptedUnixMs: String(Date.now()), host: req.targetHost || 'db-1' } });
    call.write({ jobId, progress: { ...progress(1024, 2048), phase: 'restoring' } });
    call.write({ jobId, done: { snapshot: snap, targetHost: req.targetHost || 'db-1', targetDir: req.files?.targetDir ?? '', files: '1200', dirs: '80', bytes: String(3 * 1024 ** 3), durationMs: '65000' } });
    call.end();
  }),

  Verify: guarded<v1.VerifyRequest__Output, v1.VerifyUpdate>(WRITERS, (call) => {
    const jobId = id(0x79);
    call.write({ jobId, accepted: { acceptedUnixMs: String(Date.now()), host: '' } });
    call.write({ jobId, progress: { ...progress(10, 100), phase: 'verifying' } });
    const problems = call.request.readDataPercent >= 50 ? [{ code: 'CORRUPT', object: 'pack 3f2a', message: 'blob 9c1d does not match its id' }] : [];
    call.write({ jobId, report: { ok: problems.length === 0, snapshotsChecked: '3', packsChecked: '4', blobsChecked: '1234', bytesRead: String(1024 ** 2), durationMs: '2500', problems } });
    call.end();
  }),
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with only the environment we give it. */
function pbk(args: string[], options: { creds?: string; coordinator?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', PBK_COORDINATOR: options.coordinator ?? address, PBK_CREDENTIALS: options.creds ?? creds.admin, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function writeCreds(name: string, ca: string, client: KeyAndCert): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeCertificateFile(join(dir, 'ca.pem'), ca);
  await writeCertificateFile(join(dir, 'client.pem'), client.certPem);
  await writePrivateKeyFile(join(dir, 'client.key'), client.keyPem);
  return dir;
}

async function clientCert(signer: KeyAndCert, role: Role): Promise<KeyAndCert> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: role });
  return { keyPem, certPem: await signCsr(signer, csrPem, { role, validDays: 1 }) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  // Build what the test runs: the protocol lib if missing, and this CLI always (it must be the current source).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  if (!existsSync(join(repoRoot, 'libs/protocol/dist/index.js'))) execFileSync(process.execPath, [tsc, '-p', 'libs/protocol/tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', 'apps/cli/tsconfig.json'], { cwd: repoRoot, stdio: 'inherit' });

  root = await mkdtemp(join(tmpdir(), 'pbk-cli-wire-'));
  const ca = await createCa({ commonName: 'pbk test CA', validDays: 1 });
  const otherCa = await createCa({ commonName: 'someone else', validDays: 1 });
  const serverCert = await issueServerCert(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const admin = await clientCert(ca, 'admin');
  creds.admin = await writeCreds('admin', ca.certPem, admin);
  creds.auditor = await writeCreds('auditor', ca.certPem, await clientCert(ca, 'auditor'));
  creds.wrongCa = await writeCreds('wrong-ca', otherCa.certPem, admin);
  creds.foreign = await writeCreds('foreign', ca.certPem, await clientCert(otherCa, 'admin'));

  server = new Server(serverOptions());
  server.addService(loadProtocol().OperatorService.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      serverCredentials({ caPem: ca.certPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem, requireClientCert: true }),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  server?.forceShutdown();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('pbk status', () => {
  it('--json prints one document with the coordinator, agents and sources', async () => {
    const r = await pbk(['status', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.coordinator).toMatchObject({ version: '0.1.0-test', region: 'eu-1', primary: true });
    expect(doc.repository).toEqual({ snapshots: 3, packs: 4, blobs: 1234, storedBytes: 2 * 1024 ** 3 });
    expect(doc.agents.map((a: { host: string }) => a.host)).toEqual(['db-1', 'web-7']);
    expect(doc.sources[0]).toMatchObject({ host: 'db-1', kind: 'files', source: 'etc', state: 'ok', lastSnapshot: { id: id(0xa3).toString('hex') } });
    expect(doc.sources[1]).toMatchObject({ state: 'late', failure: { code: 'UNAVAILABLE', message: 'agent web-7 is not connected' }, lastSnapshot: null });
  });

  it('prints aligned tables with sizes and relative times for a person', async () => {
    const r = await pbk(['status'], { creds: creds.auditor });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^coordinator {2}0\.1\.0-test {2}region eu-1 {2}primary/m);
    expect(r.stdout).toContain('4 packs, 1234 blobs, 2.0 GiB stored');
    expect(r.stdout).toMatch(/AGENTS\nHOST +VERSION +CONNECTED +LAST HEARTBEAT +CERT EXPIRES\n/);
    expect(r.stdout).toMatch(/^web-7 +0\.1\.0 +NO +\S+Z \(3 h ago\) +\S+Z \(in 47 h\) SOON$/m);
    expect(r.stdout).toMatch(/^db-1 +files +etc +ok +\S+Z \(1 h ago\) +1 h \/ 1 d +-$/m);
    expect(r.stdout).toMatch(/^web-7 +files +www +LATE +never .*3 h ago: UNAVAILABLE: agent web-7 is not connected$/m);
    expectAligned(r.stdout.split('\n\n').find((block) => block.startsWith('SOURCES')) ?? '', ['HOST', 'KIND', 'SOURCE', 'STATE', 'LAST SNAPSHOT']);
  });
});

/** Every row of a table has its cells where the header's columns start. */
function expectAligned(block: string, headers: string[]): void {
  const lines = block.split('\n').filter((l) => l !== '' && l !== 'SOURCES' && l !== 'AGENTS');
  const header = lines[0] ?? '';
  for (const h of headers) {
    const col = header.indexOf(h);
    expect(col, h).toBeGreaterThanOrEqual(0);
    for (const row of lines.slice(1)) expect(col === 0 || row[col - 1] === ' ', `row ${JSON.stringify(row)} at column ${h}`).toBe(true);
  }
}

describe('pbk snapshots', () => {
  it('--json follows pages and prints every snapshot, newest first', async () => {
    const r = await pbk(['snapshots', '--json', '--host', 'db-1']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.more).toBe(false);
    expect(doc.snapshots.map((s: { id: string }) => s.id)).toEqual(SNAPSHOTS.map((s) => (s.id as Buffer).toString('hex')));
    expect(doc.snapshots[2]).toMatchObject({ host: 'db-1', kind: 'files', source: 'etc', mode: 'full', stats: { files: 1200, totalBytes: 3 * 1024 ** 3 }, labels: { tag: 'n1' } });
    expect(doc.snapshots[0].time).toBe(new Date(NOW - HOUR).toISOString());
  });

  it('--limit stops early and says more exist', async () => {
    const r = await pbk(['snapshots', '--json', '--limit', '1']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.snapshots).toHaveLength(1);
    expect(doc.more).toBe(true);
    const human = await pbk(['snapshots', '--limit', '2']);
    expect(human.stderr).toMatch(/showing the newest 2; more match/);
  });

  it('passes filters and times to the coordinator', async () => {
    seen.listRequests.length = 0;
    const r = await pbk(['snapshots', '--json', '--source', 'etc', '--kind', 'postgres', '--since', '2024-05-01T10:00Z', '--until', '-30m']);
    expect(r.code).toBe(0);
    const req = seen.listRequests[0];
    expect(req).toMatchObject({ source: 'etc', kind: 'SOURCE_KIND_POSTGRES', sinceUnixMs: String(Date.UTC(2024, 4, 1, 10)) });
    expect(Math.abs(Number(req?.untilUnixMs) - (Date.now() - 30 * 60_000))).toBeLessThan(60_000);
  });

  it('prints an aligned table with short ids, UTC times, ages and sizes', async () => {
    const r = await pbk(['snapshots']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +TIME \(UTC\) +AGE +HOST +KIND +SOURCE +MODE +FILES +SIZE +NEW$/);
    expect(lines[1]).toMatch(/^a3a3a3a3 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +1 h ago +db-1 +files +etc +incremental +1200 +3\.0 GiB +3\.0 MiB$/);
    expect(lines[3]).toMatch(/^a1a1a1a1 .* full +1200 +3\.0 GiB +1\.0 MiB$/);
    expectAligned(r.stdout, ['ID', 'TIME (UTC)', 'AGE', 'HOST', 'KIND', 'SOURCE', 'MODE']);
    // Right-aligned numbers end in the same column.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('exits 3 with the coordinator\'s NOT_FOUND, as JSON on stderr with --json', async () => {
    const r = await pbk(['snapshots', '--host', 'ghost', '--json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: "no host 'ghost' has enrolled: see pbk status" } });
    const human = await pbk(['snapshots', '--host', 'ghost']);
    expect(human.code).toBe(3);
    expect(human.stderr).toBe("pbk: error: no host 'ghost' has enrolled: see pbk status\n");
  });
});

describe('pbk backup now', () => {
  it('--wait --json prints only the final result (progress omitted)', async () => {
    const r = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'etc', '--wait', '--full', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['job', 'snapshot']);
    expect(doc.job).toMatchObject({ id: id(0x77).toString('hex'), host: 'db-1' });
    expect(doc.snapshot).toMatchObject({ id: id(0xa4).toString('hex'), mode: 'full', stats: { uploadedBytes: 2 * 1024 * 1024, storedBytes: 512 * 1024 } });
  });

  it('without a terminal prints one plain final line and no progress', async () => {
    const r = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'etc', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^snapshot a4a4a4a4 of db-1\/etc at \S+Z: 1200 files, 3\.0 GiB, 4\.0 MiB new, 2\.0 MiB uploaded, 512\.0 KiB stored in 42 s\n$/);
  });

  // util-linux `script` gives the CLI a terminal; skipped where it is missing.
  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal draws a progress bar on stderr, then clears it for the result', async () => {
    const command = [process.execPath, CLI, 'backup', 'now', '--host', 'db-1', '--source', 'etc', '--wait'].map((a) => `'${a}'`).join(' ');
    const r = await new Promise<Result>((resolve, reject) => {
      const child = spawn('/usr/bin/script', ['-qefc', command, '/dev/null'], {
        env: { PATH: process.env.PATH ?? '', PBK_COORDINATOR: address, PBK_CREDENTIALS: creds.admin, TERM: 'dumb' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(r.code).toBe(0);
    // stdout and stderr share the terminal: the bar, its erasure, then the result line.
    expect(r.stdout).toMatch(/\ruploading +\[[#-]{24}\] +\d+% +[\d.]+ [KMG]?i?B \/ 3\.0 GiB +[\d.]+ [KMG]?i?B\/s +ETA [^\r]*\x1b\[K/);
    expect(r.stdout).toMatch(/\r\x1b\[K\r?\n?snapshot a4a4a4a4 of db-1\/etc/);
  });

  it('without --wait returns once accepted', async () => {
    const r = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'etc', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ job: { id: id(0x77).toString('hex'), host: 'db-1' }, snapshot: null });
    const human = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'etc']);
    expect(human.stdout).toMatch(/^backup of db-1\/etc accepted: job 7777/);
  });

  it('maps stream failures: NOT_FOUND 3, CORRUPT 6', async () => {
    const missing = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'missing', '--wait', '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stderr).error.code).toBe('NOT_FOUND');
    const rotten = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'rotten', '--wait']);
    expect(rotten.code).toBe(6);
    expect(rotten.stderr).toContain('pack 3f2a is damaged at offset 4096');
  });

  it('exits 4 when the role may not (auditor), naming the role needed', async () => {
    const r = await pbk(['backup', 'now', '--host', 'db-1', '--source', 'etc'], { creds: creds.auditor });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/role auditor may not do this/);
    expect(r.stderr).toMatch(/pbk backup now needs the operator role/);
  });

  it('Ctrl-C cancels the call and exits 130', async () => {
    const started = new Promise<void>((r) => (seen.slowStarted = r));
    const cancelled = new Promise<void>((r) => (seen.slowCancelled = r));
    const child = spawn(process.execPath, [CLI, 'backup', 'now', '--host', 'db-1', '--source', 'slow', '--wait', '--json'], {
      env: { PATH: process.env.PATH ?? '', PBK_COORDINATOR: address, PBK_CREDENTIALS: creds.admin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await started;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await cancelled; // the coordinator saw the cancellation
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toEqual({ error: { code: 'INTERRUPTED', message: expect.stringMatching(/interrupted/) } });
  });
});

describe('pbk restore files', () => {
  it('exits 8 for a non-empty target without --force, 0 with it', async () => {
    const refused = await pbk(['restore', 'files', '--host', 'db-1', '--source', 'etc', '--to', '/srv/nonempty']);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(/not empty: pass --force/);
    const forced = await pbk(['restore', 'files', '--host', 'db-1', '--source', 'etc', '--to', '/srv/nonempty', '--force', '--at', '90 minutes ago', '--json']);
    expect(forced.code).toBe(0);
    const doc = JSON.parse(forced.stdout);
    expect(doc.restore).toMatchObject({ targetHost: 'db-1', targetDir: '/srv/nonempty', files: 1200, dirs: 80, durationMs: 65000 });
    const req = seen.restores.at(-1);
    expect(req?.files).toEqual({ path: '', targetDir: '/srv/nonempty', force: true });
    expect(req?.source).toEqual({ host: 'db-1', kind: 'SOURCE_KIND_FILES', name: 'etc' });
    expect(Math.abs(Number(req?.atUnixMs) - (Date.now() - 90 * 60_000))).toBeLessThan(60_000);
  });

  it('resolves a short snapshot id and passes path and target host', async () => {
    const r = await pbk(['restore', 'files', '--host', 'db-1', '--source', 'etc', '--snapshot', 'A2A2A2A2', '--path', 'nginx', '--to', '/tmp/r', '--target-host', 'db-2']);
    expect(r.code).toBe(0);
    expect(seen.restores.at(-1)?.snapshotId).toEqual(id(0xa2));
    expect(seen.restores.at(-1)?.targetHost).toBe('db-2');
    expect(seen.restores.at(-1)?.files?.path).toBe('nginx');
    expect(r.stdout).toMatch(/^restored 1200 files, 80 dirs, 3\.0 GiB from snapshot a2a2a2a2 \(\S+Z\) of db-1\/etc to db-2:\/tmp\/r in 1 min 05 s\n$/);
    const unknown = await pbk(['restore', 'files', '--host', 'db-1', '--source', 'etc', '--snapshot', 'ffffffff', '--to', '/tmp/r']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/no snapshot of db-1\/etc has an id starting with ffffffff/);
  });
});

describe('pbk verify', () => {
  it('exits 0 on a clean report and 7 when problems are found, the report on stdout either way', async () => {
    const ok = await pbk(['verify', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).report).toMatchObject({ ok: true, blobsChecked: 1234, problems: [] });
    const bad = await pbk(['verify', '--read-data', '100%', '--json']);
    expect(bad.code).toBe(7);
    expect(JSON.parse(bad.stdout).report.problems).toEqual([{ code: 'CORRUPT', object: 'pack 3f2a', message: 'blob 9c1d does not match its id' }]);
    expect(JSON.parse(bad.stderr).error.code).toBe('VERIFY_PROBLEMS');
    const human = await pbk(['verify', '--read-data', '60']);
    expect(human.code).toBe(7);
    expect(human.stdout).toMatch(/^verify found 1 problem\(s\): 3 snapshots, 4 packs, 1234 blobs checked, 1\.0 MiB read \(60% of data\) in 2 s\n\nCODE +OBJECT +PROBLEM\nCORRUPT +pack 3f2a +blob 9c1d/);
  });
});

describe('connection failures', () => {
  it('exits 5 when the coordinator is unreachable, saying where it looked', async () => {
    const port = await freePort();
    const r = await pbk(['status', '--json'], { coordinator: `127.0.0.1:${port}` });
    expect(r.code).toBe(5);
    const { error } = JSON.parse(r.stderr);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain(`cannot reach the coordinator at 127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    const dns = await pbk(['status'], { coordinator: 'no-such-host.invalid:7443' });
    expect(dns.code).toBe(5);
  });

  it('exits 4 when ca.pem does not trust the coordinator (wrong CA)', async () => {
    const r = await pbk(['status'], { creds: creds.wrongCa });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/presented a certificate that .*wrong-ca\/ca\.pem does not accept \(self-signed certificate in certificate chain\)/);
  });

  it('exits 4 when the coordinator refuses our client certificate (another CA)', async () => {
    const r = await pbk(['status', '--json'], { creds: creds.foreign });
    expect(r.code).toBe(4);
    const { error } = JSON.parse(r.stderr);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/refused the client certificate in .*foreign/);
  });

  it('abandons a stream that goes quiet (idle timeout) with exit 5', async () => {
    const credentials = await loadCredentials(creds.admin);
    const operator = connectOperator({ address: parseAddress(address), credentials, signal: new AbortController().signal, idleTimeoutMs: 300 });
    try {
      const err = await (async () => {
        for await (const _ of operator.startBackup({ source: { host: 'db-1', name: 'slow' }, wait: true })) void _;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect((err as CommandError).code).toBe('DEADLINE_EXCEEDED');
      expect(exitCodeFor(err)).toBe(5);
    } finally {
      operator.close();
    }
  });
});
