/**
 * Test harness: the BUILT coordinator (dist/main.js) as real child processes,
 * and real grpc-js clients over mutual TLS. Nothing here is mocked: init
 * writes a real data directory, serve binds real ports (0 = free), agents
 * enroll with real tokens and CSRs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Metadata, type ChannelOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import {
  BlobAssembler,
  BlobMessageBatcher,
  channelCredentials,
  clientChannelOptions,
  createKeyAndCsr,
  fromGrpcStatus,
  loadProtocol,
  type RemoteError,
  type v1,
} from '@pbk/protocol';
import { encodeTree, makeBlob, openChunk, type TreeEntry } from '@pbk/storage';
import type { Dek } from '@pbk/crypto';

const run = promisify(execFile);
export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MAIN = join(APP_DIR, 'dist', 'main.js');

if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx nx run @pbk/coordinator:build)`);

export async function tempDir(prefix = 'pbk-coord-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function initData(dir: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<void> {
  const r = await cli(['init', '--data', dir, ...extra], env);
  if (r.code !== 0) throw new Error(`init failed (${r.code}): ${r.stderr}`);
}

export interface Ready {
  grpc: string;
  enroll: string;
  http: string;
  ports: { grpc: number; enroll: number; http: number };
}

export interface Serving {
  proc: ChildProcess;
  ready: Ready;
  readyLine: Record<string, unknown>;
  lines: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function serve(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Serving> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let buf = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const readyLine = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve not ready in 60 s:\n${lines.join('\n')}\n${stderr}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        try {
          const obj = JSON.parse(line) as Record<string, unknown>;
          if (obj.event === 'ready') {
            clearTimeout(timer);
            resolve(obj);
          }
        } catch {
          // not JSON: kept in lines
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before ready:\n${lines.join('\n')}\n${stderr}`));
    });
  });
  return {
    proc,
    ready: readyLine as unknown as Ready,
    readyLine,
    lines,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface Creds {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

export async function adminCreds(dir: string): Promise<Required<Creds>> {
  const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'client.pem', 'client.key'].map((f) => readFile(join(dir, 'admin', f), 'utf8')));
  return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
}

const pbk = loadProtocol();

export function operatorClient(address: string, creds: Creds, options: ChannelOptions = {}): v1.OperatorServiceClient {
  return new pbk.OperatorService(address, channelCredentials(creds), { ...clientChannelOptions(), ...options }) as unknown as v1.OperatorServiceClient;
}

export function agentClient(address: string, creds: Creds, options: ChannelOptions = {}): v1.AgentServiceClient {
  return new pbk.AgentService(address, channelCredentials(creds), { ...clientChannelOptions(), ...options }) as unknown as v1.AgentServiceClient;
}

export function enrollClient(address: string, caPem: string): v1.EnrollmentServiceClient {
  return new pbk.EnrollmentService(address, channelCredentials({ caPem }), clientChannelOptions()) as unknown as v1.EnrollmentServiceClient;
}

type Unary<Req, Res> = (req: Req, meta: Metadata, options: { deadline: Date }, cb: (err: ServiceError | null, res?: Res) => void) => unknown;

/** A unary call as a promise; failures as RemoteError (pbk code + gRPC code). */
export function call<Req, Res>(client: Client, method: string, req: Req, timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method];
    if (typeof fn !== 'function') throw new Error(`no method ${method}`);
    fn.call(client, req, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(fromGrpcStatus(err)) : resolve(res as Res)));
  });
}

/** Reads a server stream to its end; failures as RemoteError. */
export async function collect<T>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const m of stream) out.push(m as T);
  } catch (err) {
    throw fromGrpcStatus(err as ServiceError);
  }
  return out;
}

export async function expectRemote(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    return err as RemoteError;
  }
  throw new Error('expected the call to fail');
}

export async function token(dir: string, host: string, extra: string[] = []): Promise<string> {
  const r = await cli(['token', '--data', dir, '--host', host, ...extra]);
  if (r.code !== 0) throw new Error(`token failed: ${r.stderr}`);
  return r.stdout.trim();
}

export interface AgentCreds extends Required<Creds> {
  host: string;
}

/** Enrolls `host` the way pbk-agent does: key and CSR made here, only the CSR sent. */
export async function enroll(serving: Serving, dir: string, host: string, tok?: string): Promise<AgentCreds> {
  const caPem = await readFile(join(dir, 'tls', 'ca.pem'), 'utf8');
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: host });
  const client = enrollClient(serving.ready.enroll, caPem);
  try {
    const res = await call<v1.EnrollRequest, v1.EnrollResponse__Output>(client as unknown as Client, 'enroll', {
      token: tok ?? (await token(dir, host)),
      csrPem,
      host,
      agentVersion: 'test-agent 0',
    });
    return { host, caPem: res.caPem, certPem: res.certPem, keyPem };
  } finally {
    client.close();
  }
}

export async function httpGet(serving: Serving, path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://${serving.ready.http}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

export async function metric(serving: Serving, name: string): Promise<number> {
  const { body } = await httpGet(serving, '/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

// ---- building a backup by hand ---------------------------------------------------

export interface SealedFile {
  name: string;
  data: Buffer;
  blobs: ReturnType<typeof makeBlob>[];
}

export interface BuiltTree {
  root: ReturnType<typeof makeBlob>;
  blobs: ReturnType<typeof makeBlob>[];
}

/** One directory of files, each one data blob (or `chunk`-sized pieces), plus its tree blob. */
export function buildTree(dek: Dek, idKey: Buffer, files: { name: string; data: Buffer }[], chunk = 1 << 20): BuiltTree {
  const blobs: ReturnType<typeof makeBlob>[] = [];
  const entries: TreeEntry[] = files.map((f) => {
    const content: string[] = [];
    for (let off = 0; off < Math.max(1, f.data.length); off += chunk) {
      const b = makeBlob(dek, idKey, 'data', f.data.subarray(off, off + chunk), 1);
      blobs.push(b);
      content.push(b.id.toString('hex'));
    }
    return { name: f.name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1700000000000000000', size: f.data.length, content };
  });
  const root = makeBlob(dek, idKey, 'tree', encodeTree({ entries }), 3);
  return { root, blobs: [...blobs, root] };
}

function wireBlob(b: ReturnType<typeof makeBlob>, deltaBase?: Buffer) {
  return { id: b.id, type: b.type === 'tree' ? ('BLOB_TYPE_TREE' as const) : ('BLOB_TYPE_DATA' as const), dekId: b.dekId, rawLength: b.rawLength, sealed: b.sealed, ...(deltaBase ? { deltaBase } : {}) };
}

/**
 * Streams blobs on one UploadBlobs call and resolves with the (durable)
 * response. `hints`: blob id (hex) -> the delta base to name for it.
 */
export function upload(client: v1.AgentServiceClient, runId: Buffer, blobs: ReturnType<typeof makeBlob>[], hints?: ReadonlyMap<string, Buffer>): Promise<v1.UploadBlobsResponse__Output> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadBlobs({ deadline: new Date(Date.now() + 120_000) }, (err, res) => (err ? reject(fromGrpcStatus(err)) : resolve(res!)));
    const batcher = new BlobMessageBatcher();
    let first = true;
    const send = (parts: v1.BlobPart[]): void => {
      stream.write({ runId: first ? runId : Buffer.alloc(0), parts });
      first = false;
    };
    for (const b of blobs) for (const parts of batcher.push(wireBlob(b, hints?.get(b.id.toString('hex'))))) send(parts);
    const last = batcher.flush();
    if (last) send(last);
    stream.end();
  });
}

/** An upload stream left open (for crash tests): write blobs, never end. */
export function openUpload(client: v1.AgentServiceClient, runId: Buffer): { write(blobs: ReturnType<typeof makeBlob>[]): void; result: Promise<unknown> } {
  let first = true;
  let stream!: ReturnType<v1.AgentServiceClient['uploadBlobs']>;
  const result = new Promise((resolve, reject) => {
    stream = client.uploadBlobs({ deadline: new Date(Date.now() + 120_000) }, (err, res) => (err ? reject(fromGrpcStatus(err)) : resolve(res)));
  });
  result.catch(() => undefined);
  return {
    result,
    write(blobs) {
      const batcher = new BlobMessageBatcher();
      for (const b of blobs) {
        for (const parts of batcher.push(wireBlob(b))) {
          stream.write({ runId: first ? runId : Buffer.alloc(0), parts });
          first = false;
        }
      }
      const last = batcher.flush();
      if (last) {
        stream.write({ runId: first ? runId : Buffer.alloc(0), parts: last });
        first = false;
      }
    },
  };
}

export const FILES_SOURCE = (name = 'etc'): v1.SourceRef => ({ host: '', kind: 'SOURCE_KIND_FILES', name });

/** BeginBackup -> MissingBlobs -> UploadBlobs -> CommitBackup, as an agent does it. */
export async function backupByHand(
  agent: v1.AgentServiceClient,
  files: { name: string; data: Buffer }[],
  source = FILES_SOURCE(),
): Promise<{ begin: v1.BeginBackupResponse__Output; tree: BuiltTree; missing: Buffer[]; snapshot: v1.SnapshotInfo__Output }> {
  const c = agent as unknown as Client;
  const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source, mode: 'BACKUP_MODE_FULL' });
  const dek: Dek = { id: begin.dek!.id, key: begin.dek!.key };
  const tree = buildTree(dek, begin.idKey, files);
  const { missing } = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c, 'missingBlobs', { runId: begin.runId, ids: tree.blobs.map((b) => b.id) });
  const want = new Set(missing.map((m) => m.toString('hex')));
  await upload(agent, begin.runId, tree.blobs.filter((b) => want.has(b.id.toString('hex'))));
  const { snapshot } = await call<v1.CommitBackupRequest, v1.CommitBackupResponse__Output>(c, 'commitBackup', {
    runId: begin.runId,
    treeRoot: tree.root.id,
    timeUnixMs: Date.now(),
    stats: { files: files.length, totalBytes: files.reduce((n, f) => n + f.data.length, 0) },
    paths: ['/etc'],
    labels: { test: 'yes' },
  });
  return { begin, tree, missing, snapshot: snapshot! };
}

// ---- WAL by hand -------------------------------------------------------------------

export const PG_SOURCE = (name = 'main'): v1.SourceRef => ({ host: '', kind: 'SOURCE_KIND_POSTGRES', name });

/**
 * PutWal / GetWal / ListWal as the agent's WAL streamer and wal-fetch do them,
 * for the WAL run `begin()` and the client `agent()` (getters: tests reconnect).
 */
export function walOps(agent: () => v1.AgentServiceClient, begin: () => v1.BeginBackupResponse__Output) {
  /** Seals `data` in 4 KiB pieces as the run's blobs. */
  const pieces = (data: Buffer) => {
    const b = begin();
    const dek = { id: b.dek!.id, key: b.dek!.key };
    const out = [];
    for (let off = 0; off < data.length; off += 4096) out.push(makeBlob(dek, b.idKey, 'data', data.subarray(off, off + 4096), 1));
    return out;
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  return {
    pieces,
    async putWal(file: string, data: Buffer, complete: boolean, opts: { uploadBlobs?: boolean; size?: number; client?: v1.AgentServiceClient } = {}): Promise<v1.PutWalResponse__Output> {
      const c = opts.client ?? agent();
      const runId = begin().runId;
      const blobs = pieces(data);
      if (opts.uploadBlobs !== false) {
        const { missing } = await call<v1.MissingBlobsRequest, v1.MissingBlobsResponse__Output>(c as unknown as Client, 'missingBlobs', { runId, ids: blobs.map((b) => b.id) });
        const want = new Set(missing.map((m) => m.toString('hex')));
        await upload(c, runId, blobs.filter((b) => want.has(b.id.toString('hex'))));
      }
      return call<v1.PutWalRequest, v1.PutWalResponse__Output>(c as unknown as Client, 'putWal', {
        runId,
        fileName: file,
        size: opts.size ?? data.length,
        content: blobs.map((b) => b.id),
        complete,
        sha256: sha(data),
      });
    },
    /** GetWal, every blob opened with the keys the stream sent and checked against its id (a delta blob with the base sent just before it). */
    async getWal(file: string, opts: { allowPartial?: boolean; client?: v1.AgentServiceClient; source?: v1.SourceRef } = {}): Promise<{ file: v1.WalFile__Output; data: Buffer }> {
      const c = opts.client ?? agent();
      const msgs = await collect<v1.GetWalResponse__Output>(c.getWal({ source: opts.source ?? PG_SOURCE(), fileName: file, allowPartial: opts.allowPartial ?? false }));
      const keys = new Map<string, { id: Buffer; key: Buffer }>();
      let idKey: Buffer | undefined;
      const assembler = new BlobAssembler();
      const out: Buffer[] = [];
      let base: { id: Buffer; plain: Buffer } | undefined;
      for (const m of msgs) {
        if (m.blobs!.idKey.length === 32) idKey = m.blobs!.idKey;
        for (const k of m.blobs!.keys) keys.set(k.id.toString('hex'), k);
        for (const b of assembler.push(m.blobs!.parts)) {
          const basePlain = b.deltaBase && base?.id.equals(b.deltaBase) ? base.plain : undefined;
          const plain = openChunk(keys.get(b.dekId.toString('hex'))!, idKey!, b.id, b.sealed, b.rawLength, undefined, basePlain);
          if (b.baseOnly) base = { id: b.id, plain };
          else out.push(plain);
        }
      }
      return { file: msgs[0]!.file!, data: Buffer.concat(out) };
    },
    async listWal(client = agent(), source = PG_SOURCE(), from = '', limit = 0): Promise<v1.ListWalResponse__Output> {
      return call<v1.ListWalRequest, v1.ListWalResponse__Output>(client as unknown as Client, 'listWal', { source, fromFileName: from, limit });
    },
  };
}
