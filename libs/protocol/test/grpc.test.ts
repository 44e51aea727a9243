// A real grpc-js server on port 0 over mutual TLS, in process.
import { randomBytes } from 'node:crypto';
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadPackageDefinition, Metadata, Server, status, type CallOptions, type Client, type requestCallback, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobAssembler, BlobMessageBatcher, type WireBlob } from '../src/blobs.js';
import { fromGrpcStatus, ProtocolError, RemoteError, toGrpcStatus } from '../src/errors.js';
import type { AgentServiceClient, AgentServiceHandlers } from '../src/generated/pbk/v1/AgentService.js';
import type { EnrollmentServiceClient, EnrollmentServiceHandlers } from '../src/generated/pbk/v1/EnrollmentService.js';
import type { OperatorServiceClient, OperatorServiceHandlers } from '../src/generated/pbk/v1/OperatorService.js';
import { BLOB_MESSAGE_BYTES, clientChannelOptions, MAX_RECEIVE_MESSAGE_BYTES, SERVER_RECEIVE_WINDOW_BYTES, serverOptions, widenReceiveWindow } from '../src/limits.js';
import { addReflection, loadProtocol, SERVICE_NAMES } from '../src/load.js';
import { writeMessage } from '../src/stream.js';
import {
  authorize,
  certificateFingerprint,
  channelCredentials,
  createCa,
  createKeyAndCsr,
  fetchPinnedCa,
  identityFromCall,
  issueServerCert,
  signCsr,
  serverCredentials,
  type KeyAndCert,
  type PeerIdentity,
} from '../src/tls.js';

const protocol = loadProtocol();
const DEADLINE_MS = 5000;
const deadline = (): Date => new Date(Date.now() + DEADLINE_MS);

let ca: KeyAndCert;
let server: Server;
let enrollServer: Server;
let port: number;
let enrollPort: number;
let admin: KeyAndCert;
let stranger: KeyAndCert;
let windowWidened = false;
const seen: { status: PeerIdentity[]; handlerCalls: number } = { status: [], handlerCalls: 0 };
const clients: Client[] = [];

function keep<T extends Client>(c: T): T {
  clients.push(c);
  return c;
}

async function clientCert(role: 'agent' | 'operator' | 'admin', host?: string, signer: KeyAndCert = ca): Promise<KeyAndCert> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: host ?? role });
  return { keyPem, certPem: await signCsr(signer, csrPem, { role, host, validDays: 1 }) };
}

function bind(s: Server, creds: ReturnType<typeof serverCredentials>): Promise<number> {
  return new Promise((resolve, reject) => s.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
}

/** Calls a unary method with a deadline; typed from the method's (argument, callback) overload. */
function unary<Req, Res>(fn: (argument: Req, callback: requestCallback<Res>) => unknown, req: Req): Promise<Res> {
  const call = fn as unknown as (a: Req, md: Metadata, o: CallOptions, cb: requestCallback<Res>) => unknown;
  return new Promise((resolve, reject) => {
    call(req, new Metadata(), { deadline: deadline() }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** The error a call must fail with. */
async function failure(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => expect.unreachable('the call should have failed'),
    (e: ServiceError) => e,
  );
}

function operatorClient(id?: KeyAndCert, options = clientChannelOptions()): OperatorServiceClient {
  const creds = channelCredentials({ caPem: ca.certPem, certPem: id?.certPem, keyPem: id?.keyPem });
  return keep(new protocol.OperatorService(`127.0.0.1:${port}`, creds, options));
}

const operatorHandlers: OperatorServiceHandlers = {
  Status(call, callback) {
    seen.handlerCalls++;
    try {
      const id = authorize(call, ['operator', 'admin', 'auditor']);
      seen.status.push(id);
      callback(null, { coordinatorVersion: 'test', region: `${id.role}@${id.host ?? '-'}`, serverTimeUnixMs: String(Date.now()) });
    } catch (err) {
      callback(toGrpcStatus(err));
    }
  },
  ListSnapshots(_call, callback) {
    // Errors thrown by handlers travel through the one mapping.
    callback(toGrpcStatus(new ProtocolError('NOT_FOUND', "no snapshots of source 'etc' on host 'db-1': check the name with 'pbk status'")));
  },
  StartBackup(call) {
    // How a server stream fails with a status in grpc-js.
    call.emit('error', toGrpcStatus(new Error('SELECT * FROM secrets failed at /srv/pbk/catalog.ts:12')));
  },
  Restore(call) {
    call.end();
  },
  Verify(call) {
    call.end();
  },
};

const agentHandlers: Partial<AgentServiceHandlers> = {
  Heartbeat(call, callback) {
    try {
      const id = authorize(call, ['agent']);
      callback(null, { serverTimeUnixMs: String(Date.now()), heartbeatIntervalMs: id.host === undefined ? '0' : '15000' });
    } catch (err) {
      callback(toGrpcStatus(err));
    }
  },
  MissingBlobs(call, callback) {
    callback(null, { missing: call.request.ids });
  },
  UploadBlobs(call, callback) {
    const assembler = new BlobAssembler();
    let stored = 0;
    let bytes = 0;
    let messages = 0;
    let failed = false;
    call.on('data', (msg: { parts: Parameters<BlobAssembler['push']>[0] }) => {
      messages++;
      try {
        for (const blob of assembler.push(msg.parts)) {
          stored++;
          bytes += blob.sealed.length;
          // Check content end to end: each test blob is filled with its id's first byte.
          if (!blob.sealed.every((b) => b === blob.id[0])) throw new ProtocolError('INTEGRITY', `blob ${blob.id.toString('hex')} arrived damaged`);
        }
      } catch (err) {
        failed = true;
        callback(toGrpcStatus(err));
      }
    });
    call.on('end', () => {
      if (failed) return;
      try {
        assembler.finish();
        callback(null, { blobsStored: String(stored), blobsDuplicate: String(messages), bytesReceived: String(bytes) });
      } catch (err) {
        callback(toGrpcStatus(err));
      }
    });
  },
};

// The enrollment listener: TLS without client certificates, Enroll only.
const enrollHandlers: EnrollmentServiceHandlers = {
  Enroll(call, callback) {
    void (async () => {
      // No client certificate here, by design.
      expect(() => identityFromCall(call)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
      if (call.request.token !== 'one-time-token') throw new ProtocolError('UNAUTHENTICATED', 'the enrollment token is unknown, expired or already used');
      const certPem = await signCsr(ca, call.request.csrPem, { role: 'agent', host: call.request.host, validDays: 30 });
      callback(null, { certPem, caPem: ca.certPem, host: call.request.host });
    })().catch((err: unknown) => callback(toGrpcStatus(err)));
  },
};

beforeAll(async () => {
  ca = await createCa({ commonName: 'pbk test CA', validDays: 1 });
  const serverKey = await issueServerCert(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] });
  admin = await clientCert('admin');
  const otherCa = await createCa({ commonName: 'someone else', validDays: 1 });
  stranger = await clientCert('admin', undefined, otherCa);

  server = new Server(serverOptions());
  server.addService(protocol.OperatorService.service, operatorHandlers);
  // Methods left out answer UNIMPLEMENTED.
  server.addService(protocol.AgentService.service, agentHandlers as AgentServiceHandlers);
  addReflection(server);
  port = await bind(server, serverCredentials({ ...serverKey, caPem: ca.certPem, requireClientCert: true }));
  windowWidened = widenReceiveWindow(server);

  enrollServer = new Server(serverOptions());
  enrollServer.addService(protocol.EnrollmentService.service, enrollHandlers);
  addReflection(enrollServer, [SERVICE_NAMES.enrollment]);
  enrollPort = await bind(enrollServer, serverCredentials({ ...serverKey, caPem: ca.certPem, requireClientCert: false }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([server, enrollServer].map((s) => new Promise<void>((resolve) => (s ? s.tryShutdown(() => resolve()) : resolve()))));
});

describe('mutual TLS', () => {
  it('lets a client with a valid certificate call, and the server reads its identity', async () => {
    const c = operatorClient(admin);
    const res = await unary(c.status.bind(c), {});
    expect(res.region).toBe('admin@-');
    expect(res.serverTimeUnixMs).toMatch(/^\d+$/); // int64 arrives as a decimal string
    const id = seen.status.at(-1);
    expect(id?.role).toBe('admin');
    expect(id?.fingerprint).toBe(certificateFingerprint(admin.certPem));
  });

  it('rejects a client without a certificate before any handler runs', async () => {
    const before = seen.handlerCalls;
    const c = operatorClient(undefined);
    const err = await failure(unary(c.status.bind(c), {}));
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
    expect(seen.handlerCalls).toBe(before);
  });

  it('rejects a client whose certificate comes from another CA', async () => {
    const before = seen.handlerCalls;
    const c = operatorClient(stranger);
    const err = await failure(unary(c.status.bind(c), {}));
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
    expect(seen.handlerCalls).toBe(before);
  });

  it('rejects a server the client does not trust', async () => {
    const otherCa = await createCa({ commonName: 'not ours', validDays: 1 });
    const c = keep(new protocol.OperatorService(`127.0.0.1:${port}`, channelCredentials({ caPem: otherCa.certPem, ...admin }), clientChannelOptions()));
    await expect(unary(c.status.bind(c), {})).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it('picks AES-128-GCM by its own order, whatever a client prefers, and still speaks TLS 1.2', async () => {
    // Node's default client list puts AES-256-GCM first.
    const handshake = async (maxVersion: 'TLSv1.2' | 'TLSv1.3') => {
      const socket = connectTls({ port, host: '127.0.0.1', servername: 'localhost', ca: ca.certPem, cert: admin.certPem, key: admin.keyPem, ALPNProtocols: ['h2'], maxVersion });
      try {
        await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
        return { protocol: socket.getProtocol(), cipher: socket.getCipher().standardName };
      } finally {
        socket.destroy();
      }
    };
    expect(await handshake('TLSv1.3')).toEqual({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' });
    expect((await handshake('TLSv1.2')).protocol).toBe('TLSv1.2');
  });

  it('gates RPCs by role: an agent may not call the operator service', async () => {
    const agent = await clientCert('agent', 'web-1');
    const c = operatorClient(agent);
    const err = await failure(unary(c.status.bind(c), {}));
    expect(fromGrpcStatus(err)).toMatchObject({ code: 'PERMISSION_DENIED', grpcCode: status.PERMISSION_DENIED });
  });
});

describe('limits and errors over the wire', () => {
  it('fails a message over the receive limit with RESOURCE_EXHAUSTED', async () => {
    const agent = await clientCert('agent', 'web-1');
    // Let the client send it, so the server's limit is what stops it.
    const options = { ...clientChannelOptions(), 'grpc.max_send_message_length': 64 * 1024 * 1024 };
    const c = keep(new protocol.AgentService(`127.0.0.1:${port}`, channelCredentials({ caPem: ca.certPem, ...agent }), options)) as AgentServiceClient;
    const ids = Array.from({ length: Math.ceil((MAX_RECEIVE_MESSAGE_BYTES + 1024) / 34) }, () => randomBytes(32));
    const err = await failure(unary(c.missingBlobs.bind(c), { ids }));
    expect(err).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    // Just under the limit passes.
    const fine = await unary(c.missingBlobs.bind(c), { ids: ids.slice(0, 10_000) });
    expect(fine.missing).toHaveLength(10_000);
    // And the client's own send limit stops an oversized message before it leaves.
    const strict = keep(new protocol.AgentService(`127.0.0.1:${port}`, channelCredentials({ caPem: ca.certPem, ...agent }), clientChannelOptions())) as AgentServiceClient;
    await expect(unary(strict.missingBlobs.bind(strict), { ids })).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('carries our code and message to the client, and hides internal errors', async () => {
    const c = operatorClient(admin);
    const err = fromGrpcStatus(await failure(unary(c.listSnapshots.bind(c), {})));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain("check the name with 'pbk status'");

    const internal = await new Promise<ServiceError>((resolve) => {
      const s = c.startBackup({ source: { host: 'db-1', name: 'etc' }, wait: true }, { deadline: deadline() });
      s.on('data', () => undefined);
      s.on('error', resolve);
    });
    const remote = fromGrpcStatus(internal);
    expect(remote.code).toBe('INTERNAL');
    expect(remote.message).not.toMatch(/SELECT|secrets|\/srv/);
  });

  it('grants clients an HTTP/2 receive window of SERVER_RECEIVE_WINDOW_BYTES, not the 64 KiB default', async () => {
    expect(windowWidened).toBe(true);
    const agent = await clientCert('agent', 'web-1');
    const session = connectHttp2(`https://127.0.0.1:${port}`, { ca: ca.certPem, cert: agent.certPem, key: agent.keyPem, servername: 'localhost' });
    try {
      const granted = await new Promise<number | undefined>((resolve, reject) => {
        const timer = setTimeout(() => resolve(session.remoteSettings.initialWindowSize), 5000);
        session.on('error', reject);
        session.on('remoteSettings', (settings) => {
          if (settings.initialWindowSize !== SERVER_RECEIVE_WINDOW_BYTES) return; // the first SETTINGS frame may still carry the default
          clearTimeout(timer);
          resolve(settings.initialWindowSize);
        });
      });
      expect(granted).toBe(SERVER_RECEIVE_WINDOW_BYTES);
      expect(SERVER_RECEIVE_WINDOW_BYTES).toBeGreaterThan(65_535);
    } finally {
      session.destroy();
    }
  });

  it('uploads large and small blobs in ~1 MiB messages with flow control, reassembled intact', async () => {
    const agent = await clientCert('agent', 'web-1');
    const c = keep(new protocol.AgentService(`127.0.0.1:${port}`, channelCredentials({ caPem: ca.certPem, ...agent }), clientChannelOptions())) as AgentServiceClient;
    // ~40 MiB: more messages than the stream buffers (16), so write() must push back.
    const sizes = [8 * 1024 * 1024 + 100, 10, 300_000, 3 * 1024 * 1024, 1, ...Array.from({ length: 20 }, (_, i) => 1_500_000 + i)];
    const blobs: WireBlob[] = sizes.map((n, i) => ({
      id: Buffer.alloc(32, i + 1),
      type: 'BLOB_TYPE_DATA',
      dekId: Buffer.alloc(16, 9),
      rawLength: n,
      sealed: Buffer.alloc(n, i + 1),
    }));
    const total = blobs.reduce((n, b) => n + b.sealed.length, 0);
    let messages = 0;
    let drains = 0;
    const res = await new Promise<{ blobsStored: string; blobsDuplicate: string; bytesReceived: string }>((resolve, reject) => {
      const call = c.uploadBlobs({ deadline: deadline() }, (err, r) => (err ? reject(err) : resolve(r as never)));
      call.on('drain', () => drains++);
      void (async () => {
        const batcher = new BlobMessageBatcher();
        const send = async (parts: object[]): Promise<void> => {
          const size = (parts as { data: Buffer }[]).reduce((n, p) => n + p.data.length, 0);
          expect(size).toBeLessThanOrEqual(BLOB_MESSAGE_BYTES);
          messages++;
          await writeMessage(call, { runId: Buffer.alloc(16, 7), parts });
        };
        for (const b of blobs) for (const m of batcher.push(b)) await send(m);
        const last = batcher.flush();
        if (last) await send(last);
        call.end();
      })().catch(reject);
    });
    expect(res).toEqual({ blobsStored: String(blobs.length), blobsDuplicate: String(messages), bytesReceived: String(total) });
    expect(messages).toBeGreaterThanOrEqual(Math.ceil(total / BLOB_MESSAGE_BYTES));
    expect(messages).toBeLessThanOrEqual(Math.ceil(total / BLOB_MESSAGE_BYTES) + 2);
    // write() said "enough" at least once and the sender waited for 'drain' instead of buffering.
    expect(drains).toBeGreaterThan(0);
  });
});

describe('server reflection', () => {
  const reflectionProto = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build', 'proto');

  function reflect(target: number, creds: ReturnType<typeof channelCredentials>, request: object): Promise<Record<string, unknown>> {
    const def = loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionProto], keepCase: true, oneofs: true });
    const Ctor = (loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: new (...a: unknown[]) => Client & { ServerReflectionInfo(o: object): NodeJS.ReadWriteStream & { write(m: object): boolean; end(): void } } } } } }).grpc.reflection.v1.ServerReflection;
    const client = keep(new Ctor(`127.0.0.1:${target}`, creds));
    return new Promise((resolve, reject) => {
      const call = client.ServerReflectionInfo({ deadline: deadline() });
      call.on('data', (res: Record<string, unknown>) => {
        resolve(res);
        call.end();
      });
      call.on('error', reject);
      call.write(request);
    });
  }

  it('lists the services of the main listener, like `grpcurl list`', async () => {
    const res = await reflect(port, channelCredentials({ caPem: ca.certPem, ...admin }), { list_services: '*' });
    const names = (res.list_services_response as { service: { name: string }[] }).service.map((s) => s.name).sort();
    expect(names).toEqual([SERVICE_NAMES.agent, SERVICE_NAMES.operator]);
  });

  it('describes a service with its files, like `grpcurl describe`', async () => {
    const res = await reflect(port, channelCredentials({ caPem: ca.certPem, ...admin }), { file_containing_symbol: 'pbk.v1.OperatorService' });
    const files = (res.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
    const text = files.map((f) => f.toString('latin1')).join('\n');
    // proto-loader describes package pbk.v1 as one self-contained file, so no import is left dangling.
    expect(text).toContain('pbk.v1');
    expect(text).toContain('OperatorService');
    expect(text).toContain('ListSnapshots');
  });

  it('lists only Enroll on the enrollment listener (no client certificate needed)', async () => {
    const res = await reflect(enrollPort, channelCredentials({ caPem: ca.certPem }), { list_services: '*' });
    expect((res.list_services_response as { service: { name: string }[] }).service.map((s) => s.name)).toEqual([SERVICE_NAMES.enrollment]);
  });
});

describe('enrollment', () => {
  it('pins the CA from the token, enrolls with a CSR, then calls the main listener as that agent', async () => {
    const pin = certificateFingerprint(ca.certPem);
    const caPem = await fetchPinnedCa({ host: '127.0.0.1', port: enrollPort, fingerprint: pin });
    expect(certificateFingerprint(caPem)).toBe(pin);

    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: 'db-7' });
    const enroll = keep(new protocol.EnrollmentService(`127.0.0.1:${enrollPort}`, channelCredentials({ caPem }), clientChannelOptions())) as EnrollmentServiceClient;
    const bad = await failure(unary(enroll.enroll.bind(enroll), { token: 'guessed', csrPem, host: 'db-7' }));
    expect(fromGrpcStatus(bad).code).toBe('UNAUTHENTICATED');
    const res = await unary(enroll.enroll.bind(enroll), { token: 'one-time-token', csrPem, host: 'db-7' });
    expect(res.certPem).toContain('BEGIN CERTIFICATE');

    const agent = keep(new protocol.AgentService(`127.0.0.1:${port}`, channelCredentials({ caPem: res.caPem, certPem: res.certPem, keyPem }), clientChannelOptions())) as AgentServiceClient;
    const hb = await unary(agent.heartbeat.bind(agent), { agentVersion: 'test' });
    expect(hb.heartbeatIntervalMs).toBe('15000');
  });

  it('refuses a listener that does not present the pinned CA', async () => {
    const other = certificateFingerprint((await createCa({ commonName: 'impostor', validDays: 1 })).certPem);
    await expect(fetchPinnedCa({ host: '127.0.0.1', port: enrollPort, fingerprint: other })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(fetchPinnedCa({ host: '127.0.0.1', port: 1, fingerprint: other })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('does not serve the agent service on the enrollment listener', async () => {
    const c = keep(new protocol.AgentService(`127.0.0.1:${enrollPort}`, channelCredentials({ caPem: ca.certPem }), clientChannelOptions())) as AgentServiceClient;
    await expect(unary(c.heartbeat.bind(c), {})).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
  });
});
