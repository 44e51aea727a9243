// The wire benchmark: what it costs, in CPU, to move bytes from an agent to
// the coordinator and check them there, layer by layer, with nothing else
// running. It prices the work the end-to-end path does and the local storage
// engine does not (issue 3's "end-to-end at least 80 % of local" target),
// so a figure from bench:files can be read against a floor.
//
//   npm run bench:wire -- [--size 512MiB] [--seed N] [--runs 3] [--json]
//   bash scripts/bench.sh wire [same args]      (builds first)
//
// Each layer runs sender and receiver in this one process over loopback, so
// its cpu_s is both ends together (user + system, the process's own
// getrusage), as both daemons share the cores in bench:files:
//   tls_aes_256_gcm, tls_aes_128_gcm   a raw TLS 1.3 socket, 1 MiB writes, with that cipher suite
//   http2                              one HTTP/2 stream over TLS (pbk's cipher order and receive window)
//   grpc                               a grpc-js client stream of 1 MiB messages (BLOB_MESSAGE_BYTES)
//                                      over pbk's own mutual-TLS credentials and channel options
//   receipt_check                      openChunk (AES-GCM open, zstd decode, keyed id) over the sealed
//                                      blobs of generated data: the coordinator's check of every upload
// The data is the stream bench's (half log-like text, half random, 1 MiB
// chunks), sealed as the agent seals it; the wire layers carry the sealed bytes.
//
// stdout: one JSON object (with --json) or a table; progress goes to stderr.
import { once } from 'node:events';
import { createSecureServer as createH2Server, connect as h2connect, type ServerHttp2Stream } from 'node:http2';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { generateDek, keyedId } from '@pbk/crypto';
import {
  BLOB_MESSAGE_BYTES, SERVER_RECEIVE_WINDOW_BYTES, TLS_CIPHERS, channelCredentials, clientChannelOptions, createCa, createKeyAndCsr, issueServerCert, serverCredentials, serverOptions, signCsr, widenReceiveWindow,
} from '@pbk/protocol';
import { openChunk, sealChunk } from '@pbk/storage';
import { MiB, formatBytes, parseSize } from './fs-util.js';
import { generate } from './stream-bench.js';

const USAGE = `usage: node bench/dist/wire-bench.js [options]
  --size SIZE   plaintext bytes generated and sealed (default 512MiB); the wire layers carry the sealed bytes
  --seed N      generator seed (default 1)
  --runs N      runs of each layer, in turn (default 3): each figure is the run with the median CPU, every run's cpu_s in cpu_s_samples
  --json        print only the JSON object on stdout`;

export interface LayerFigure {
  bytes: number;
  wall_s: number;
  /** Both ends, user + system. */
  cpu_s: number;
  cpu_s_per_gib: number;
  MBps: number;
  /** What the layer negotiated (TLS cipher suite), when it applies. */
  cipher?: string;
  /** cpu_s of every run (the figure is the median's run). */
  cpu_s_samples?: number[];
}

interface Pki {
  caPem: string;
  server: { certPem: string; keyPem: string };
  client: { certPem: string; keyPem: string };
}

const GiB = 1024 * MiB;

function log(msg: string): void {
  process.stderr.write(`[wire-bench] ${msg}\n`);
}

async function measure(bytes: number, run: () => Promise<string | undefined>): Promise<LayerFigure> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const cipher = await run();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    bytes, wall_s: round(wall), cpu_s: round(cpuS), cpu_s_per_gib: round(cpuS / (bytes / GiB)), MBps: Math.round(bytes / wall / 1e6),
    ...(cipher !== undefined ? { cipher } : {}),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Writes every piece, waiting for 'drain' as a well-behaved sender does. */
async function writeAll(w: { write(b: Buffer): boolean; once(e: 'drain', f: () => void): unknown }, pieces: Buffer[]): Promise<void> {
  for (const p of pieces) {
    if (!w.write(p)) await new Promise<void>((r) => w.once('drain', r));
  }
}

async function tlsLayer(pki: Pki, pieces: Buffer[], bytes: number, suite: string): Promise<LayerFigure> {
  const server = createTlsServer({ key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true });
  let received = 0;
  const done = new Promise<void>((resolve) => server.on('secureConnection', (s: TLSSocket) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= bytes) { s.end(); resolve(); }
    });
  }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await measure(bytes, async () => {
      const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem, ciphers: suite });
      await once(socket, 'secureConnect');
      const cipher = socket.getCipher().standardName;
      await writeAll(socket, pieces);
      await done;
      socket.destroy();
      return cipher;
    });
  } finally {
    server.close();
  }
}

async function http2Layer(pki: Pki, pieces: Buffer[], bytes: number): Promise<LayerFigure> {
  const server = createH2Server({
    key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true, ciphers: TLS_CIPHERS,
    settings: { initialWindowSize: SERVER_RECEIVE_WINDOW_BYTES },
  });
  // The window the coordinator grants (widenReceiveWindow), so this layer and grpc differ only by grpc-js.
  server.on('session', (session) => session.setLocalWindowSize(SERVER_RECEIVE_WINDOW_BYTES));
  server.on('stream', (stream: ServerHttp2Stream) => {
    let received = 0;
    stream.on('data', (d: Buffer) => { received += d.length; });
    stream.on('end', () => { stream.respond({ ':status': 200 }); stream.end(String(received)); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await measure(bytes, async () => {
      const secureContext = createSecureContext({ ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem, ciphers: TLS_CIPHERS });
      const session = h2connect(`https://localhost:${port}`, { secureContext });
      const req = session.request({ ':method': 'POST', ':path': '/upload' });
      await writeAll(req, pieces);
      req.end();
      let answer = '';
      req.on('data', (d: Buffer) => { answer += d.toString(); });
      await once(req, 'end');
      const cipher = (session.socket as TLSSocket).getCipher().standardName;
      session.close();
      if (Number(answer) !== bytes) throw new Error(`http2: the server got ${answer} bytes of ${bytes}`);
      return cipher;
    });
  } finally {
    server.close();
  }
}

/** A client stream of raw byte messages: grpc-js framing and flow control without protobuf. */
const UPLOAD: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/pbk.bench.Wire/Upload',
  requestStream: true,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

async function grpcLayer(pki: Pki, pieces: Buffer[], bytes: number): Promise<LayerFigure> {
  const server = new grpc.Server(serverOptions());
  server.addService({ Upload: UPLOAD }, {
    Upload: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      let received = 0;
      call.on('data', (b: Buffer) => { received += b.length; });
      call.on('end', () => callback(null, Buffer.from(String(received))));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0',
    serverCredentials({ caPem: pki.caPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem, requireClientCert: true }),
    (err, p) => (err ? reject(err) : resolve(p))));
  // As the coordinator does: grpc-js's 64 KiB default window would price the waits, not the work.
  if (!widenReceiveWindow(server)) throw new Error('could not widen the gRPC server receive window (grpc-js changed?)');
  const cipher = await negotiatedCipher(pki, port);
  const Client = grpc.makeGenericClientConstructor({ Upload: UPLOAD }, 'Wire');
  const client = new Client(`127.0.0.1:${port}`, channelCredentials({ caPem: pki.caPem, certPem: pki.client.certPem, keyPem: pki.client.keyPem }),
    { ...clientChannelOptions(), 'grpc.ssl_target_name_override': 'localhost' });
  try {
    return await measure(bytes, async () => {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const call = (client as unknown as { Upload(cb: (e: grpc.ServiceError | null, r?: Buffer) => void): grpc.ClientWritableStream<Buffer> })
          .Upload((e, r) => (e ? reject(e) : resolve(r!)));
        void writeAll(call, pieces).then(() => call.end());
      });
      if (Number(answer.toString()) !== bytes) throw new Error(`grpc: the server got ${answer.toString()} bytes of ${bytes}`);
      return cipher;
    });
  } finally {
    client.close();
    server.forceShutdown();
  }
}

/** The suite a pbk gRPC server picks (by its own order) for a client offering Node's default list. */
async function negotiatedCipher(pki: Pki, port: number): Promise<string> {
  const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem, ALPNProtocols: ['h2'] });
  await once(socket, 'secureConnect');
  const name = socket.getCipher().standardName;
  socket.destroy();
  return name;
}

/** The wire carries BLOB_MESSAGE_BYTES messages: the sealed blobs, joined and cut. */
function cut(blobs: Buffer[], total: number): Buffer[] {
  const all = Buffer.concat(blobs, total);
  const out: Buffer[] = [];
  for (let at = 0; at < all.length; at += BLOB_MESSAGE_BYTES) out.push(all.subarray(at, Math.min(all.length, at + BLOB_MESSAGE_BYTES)));
  return out;
}

async function makePki(): Promise<Pki> {
  const ca = await createCa({ commonName: 'wire-bench CA', validDays: 1 });
  const server = await issueServerCert(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'], validDays: 1 });
  const csr = await createKeyAndCsr({ commonName: 'wire-bench agent' });
  const certPem = await signCsr(ca, csr.csrPem, { role: 'agent', host: 'wire-bench', validDays: 1 });
  return { caPem: ca.certPem, server, client: { certPem, keyPem: csr.keyPem } };
}

type LayerName = 'tls_aes_256_gcm' | 'tls_aes_128_gcm' | 'http2' | 'grpc' | 'receipt_check';

export interface WireResult {
  runs: number;
  plaintext_bytes: number;
  sealed_bytes: number;
  blobs: number;
  layers: Record<LayerName, LayerFigure>;
  host: { node: string; note: string };
}

export async function runWireBench(size: number, seed: number, runCount = 3): Promise<WireResult> {
  log(`generating and sealing ${formatBytes(size)}`);
  const data = generate(size, seed);
  const dek = generateDek();
  const idKey = Buffer.alloc(32, 7);
  const sealed: { id: Buffer; sealed: Buffer; rawLength: number }[] = [];
  for (let at = 0; at < data.length; at += MiB) {
    const chunk = data.subarray(at, Math.min(data.length, at + MiB));
    const id = keyedId(idKey, chunk);
    const s = sealChunk(dek, 'data', id, chunk);
    sealed.push({ id, sealed: Buffer.from(s.sealed), rawLength: s.rawLength });
  }
  const sealedBytes = sealed.reduce((n, b) => n + b.sealed.length, 0);
  const pieces = cut(sealed.map((b) => b.sealed), sealedBytes);
  const pki = await makePki();

  const layers: Record<LayerName, (() => Promise<LayerFigure>)> = {
    tls_aes_256_gcm: () => tlsLayer(pki, pieces, sealedBytes, 'TLS_AES_256_GCM_SHA384'),
    tls_aes_128_gcm: () => tlsLayer(pki, pieces, sealedBytes, 'TLS_AES_128_GCM_SHA256'),
    http2: () => http2Layer(pki, pieces, sealedBytes),
    grpc: () => grpcLayer(pki, pieces, sealedBytes),
    receipt_check: () => measure(sealedBytes, async () => {
      for (const b of sealed) openChunk(dek, idKey, b.id, b.sealed, b.rawLength);
      return undefined;
    }),
  };
  // Layers take turns, run after run, so a slow spell of a shared machine spreads over all of them.
  const runs: Record<string, LayerFigure[]> = {};
  for (let run = 1; run <= runCount; run++) {
    for (const [name, layer] of Object.entries(layers)) {
      log(`run ${run}/${runCount}: ${name}`);
      (runs[name] ??= []).push(await layer());
    }
  }
  const median = (name: LayerName): LayerFigure => {
    const all = runs[name]!;
    const sorted = [...all].sort((a, b) => a.cpu_s - b.cpu_s);
    return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, cpu_s_samples: all.map((f) => f.cpu_s) };
  };
  return {
    plaintext_bytes: size,
    sealed_bytes: sealedBytes,
    blobs: sealed.length,
    runs: runCount,
    layers: { tls_aes_256_gcm: median('tls_aes_256_gcm'), tls_aes_128_gcm: median('tls_aes_128_gcm'), http2: median('http2'), grpc: median('grpc'), receipt_check: median('receipt_check') },
    host: {
      node: process.version,
      note: 'cpu_s: sender and receiver together (one process, loopback); each layer includes the ones below it '
        + '(grpc = http2 + grpc-js framing; http2 = TLS + HTTP/2); receipt_check runs on one thread; MB = 10^6 bytes',
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const size = parseSize(values.size ?? '512MiB');
  const seed = Number(values.seed ?? '1');
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not ${values.seed}`);
  const runCount = Number(values.runs ?? '3');
  if (!Number.isInteger(runCount) || runCount < 1 || runCount > 9) throw new Error(`--runs must be 1 to 9, not ${values.runs}`);
  const result = await runWireBench(size, seed, runCount);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(`${formatBytes(result.sealed_bytes)} sealed from ${formatBytes(size)} (${result.blobs} blobs)\n`);
  for (const [name, f] of Object.entries(result.layers)) {
    process.stdout.write(`${name.padEnd(16)} ${f.cpu_s_per_gib.toFixed(2).padStart(6)} CPU-s/GiB  ${String(f.MBps).padStart(5)} MB/s${f.cipher ? `  ${f.cipher}` : ''}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`wire-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
