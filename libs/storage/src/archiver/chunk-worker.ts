/**
 * Worker thread: reads files, cuts them into chunks, computes keyed ids, asks
 * the main thread which ids are missing, and compresses + seals only those.
 * Both cores do the CPU work (chunking, HMAC, zstd, AES-GCM); the main thread
 * only assembles packs and writes them.
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { keyedId, type Dek } from '@pbk/crypto';
import { sealChunk } from '../blob/codec.js';
import { Chunker } from '../chunker/index.js';
import { asBuffer, type FileJob, type FileResult, type FromWorker, type ToWorker, type WorkerInit } from './messages.js';

const init = workerData as WorkerInit;
const idKey = asBuffer(init.idKey);
const dek: Dek = { id: asBuffer(init.dekId), key: asBuffer(init.dekKey) };
const port = parentPort!;

/** Chunk plaintext held until the main thread says which ids it lacks. */
const BATCH_BYTES = 8 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;
/** A file that changes while read is read again this many times, then reported. */
const READ_ATTEMPTS = 3;

let replies: ((m: ToWorker) => void) | undefined;
port.on('message', (m: ToWorker) => {
  if (m.op === 'files') void runTask(m.taskId, m.files);
  else replies?.(m);
});

function ask(msg: FromWorker, transfer: ArrayBuffer[] = []): Promise<ToWorker> {
  return new Promise((resolve) => {
    replies = resolve;
    port.postMessage(msg, transfer);
  });
}

class Batch {
  chunks: Buffer[] = [];
  ids: Buffer[] = [];
  bytes = 0;
}

async function runTask(taskId: number, files: FileJob[]): Promise<void> {
  try {
    const results: FileResult[] = [];
    let bytesRead = 0;
    for (const f of files) {
      const r = await readFile(taskId, f);
      bytesRead += r.bytesRead;
      results.push(r.result);
    }
    port.postMessage({ op: 'done', taskId, results, bytesRead } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ op: 'fatal', taskId, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
  }
}

async function readFile(taskId: number, f: FileJob): Promise<{ result: FileResult; bytesRead: number }> {
  let bytesRead = 0;
  for (let attempt = 1; ; attempt++) {
    let fh;
    try {
      fh = await open(f.path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { result: { error: `cannot open: ${code ?? (err as Error).message}`, reason: code === 'ENOENT' ? 'vanished' : 'io' }, bytesRead };
    }
    try {
      const before = await fh.stat({ bigint: true });
      const chunker = new Chunker(init.chunker);
      const content: string[] = [];
      const batch = new Batch();
      let size = 0;
      for (;;) {
        const buf = Buffer.allocUnsafeSlow(READ_BYTES);
        const { bytesRead: n } = await fh.read(buf, 0, READ_BYTES, null);
        if (n === 0) break;
        size += n;
        bytesRead += n;
        for (const c of chunker.push(buf.subarray(0, n))) await addChunk(taskId, batch, content, c);
      }
      const last = chunker.finish();
      if (last) await addChunk(taskId, batch, content, last);
      await sendBatch(taskId, batch);
      const after = await fh.stat({ bigint: true });
      if (after.size === before.size && after.mtimeNs === before.mtimeNs && BigInt(size) === after.size) {
        return { result: { content, size }, bytesRead };
      }
      if (attempt >= READ_ATTEMPTS) {
        return { result: { error: `kept changing while read (${READ_ATTEMPTS} attempts)`, reason: 'changing' }, bytesRead };
      }
    } catch (err) {
      return { result: { error: `read failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, reason: 'io' }, bytesRead };
    } finally {
      await fh.close();
    }
  }
}

async function addChunk(taskId: number, batch: Batch, content: string[], chunk: Buffer): Promise<void> {
  const id = keyedId(idKey, chunk);
  content.push(id.toString('hex'));
  batch.chunks.push(chunk);
  batch.ids.push(id);
  batch.bytes += chunk.length;
  if (batch.bytes >= BATCH_BYTES) await sendBatch(taskId, batch);
}

async function sendBatch(taskId: number, batch: Batch): Promise<void> {
  if (batch.ids.length === 0) return;
  const reply = await ask({ op: 'ids', taskId, ids: batch.ids });
  if (reply.op !== 'need') throw new Error(`worker protocol: expected need, got ${reply.op}`);
  const blobs: { id: Uint8Array; sealed: Uint8Array; rawLength: number }[] = [];
  const transfer: ArrayBuffer[] = [];
  reply.need.forEach((needed, i) => {
    if (!needed) return;
    const b = sealChunk(dek, 'data', batch.ids[i]!, batch.chunks[i]!, init.zstdLevel);
    blobs.push({ id: b.id, sealed: b.sealed, rawLength: b.rawLength });
    // Only transfer buffers that own their whole ArrayBuffer (never Node's shared pool).
    if (b.sealed.byteOffset === 0 && b.sealed.byteLength === b.sealed.buffer.byteLength) transfer.push(b.sealed.buffer as ArrayBuffer);
  });
  batch.chunks = [];
  batch.ids = [];
  batch.bytes = 0;
  if (blobs.length > 0) {
    const ack = await ask({ op: 'blobs', taskId, blobs }, transfer);
    if (ack.op !== 'ack') throw new Error(`worker protocol: expected ack, got ${ack.op}`);
  }
}
