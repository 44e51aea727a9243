/**
 * Worker thread: reads files, cuts them into chunks, computes keyed ids, asks
 * the main thread which ids are missing, and compresses + seals only those
 * (or, while nearly everything is missing, seals first and lets the main
 * thread drop what the sink has: see sendBatch).
 * Both cores do the CPU work (chunking, HMAC, zstd, AES-GCM); the main thread
 * only assembles packs and writes them. The same worker also serves
 * SealPool for streams ('id': one chunk's id; 'seal': one chunk the main
 * thread has claimed).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
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
const BATCH_BYTES = 4 * 1024 * 1024;
const READ_BYTES = 2 * 1024 * 1024;
/** A file that changes while read is read again this many times, then reported. */
const READ_ATTEMPTS = 3;

/**
 * Replies from the main thread, by task and kind: a worker runs several tasks at
 * once, and a task may wait for a 'need' while its previous blobs are still
 * being sent (one of each outstanding per task).
 */
const replies = new Map<string, (m: ToWorker) => void>();
port.on('message', (m: ToWorker) => {
  if (m.op === 'files') void runTask(m.taskId, m.files);
  else if (m.op === 'seal') sealOne(m.taskId, asBuffer(m.id), [m.chunk]);
  else if (m.op === 'idSeal') sealOne(m.taskId, undefined, m.parts);
  else if (m.op === 'id') idOne(m.taskId, m.chunk, m.returnChunk);
  else replies.get(`${m.taskId}:${m.op}`)?.(m);
});

/** A SealPool job (storeStream): the keyed id of one chunk the main thread cut; the chunk goes back when it was moved here. */
function idOne(taskId: number, chunk: Uint8Array, returnChunk: boolean): void {
  try {
    const id = new Uint8Array(keyedId(idKey, asBuffer(chunk)));
    if (returnChunk) port.postMessage({ op: 'ided', taskId, id, chunk } satisfies FromWorker, [chunk.buffer as ArrayBuffer]);
    else port.postMessage({ op: 'ided', taskId, id } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ op: 'fatal', taskId, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
  }
}

/** Where a chunk handed over in parts is joined: reused, since nothing keeps the plaintext once it is sealed. */
let joinBuffer = Buffer.allocUnsafeSlow(0);

function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  if (joinBuffer.length < n) joinBuffer = Buffer.allocUnsafeSlow(Math.max(n, 1024 * 1024));
  let at = 0;
  for (const p of parts) {
    joinBuffer.set(p, at);
    at += p.length;
  }
  return joinBuffer.subarray(0, n);
}

/**
 * A SealPool job (storeStream): compresses and encrypts one chunk, the main
 * thread having claimed it (`id` given), or before any claim ('idSeal': the
 * id is computed here and sent back with the sealed bytes). The chunk comes
 * whole or in parts (FixedChunker.pushParts), joined here.
 */
function sealOne(taskId: number, id: Buffer | undefined, parts: Uint8Array[]): void {
  try {
    const plain = asBuffer(joined(parts));
    const ided = id === undefined ? keyedId(idKey, plain) : undefined;
    const b = sealChunk(dek, 'data', id ?? ided!, plain, init.zstdLevel);
    const owns = b.sealed.byteOffset === 0 && b.sealed.byteLength === b.sealed.buffer.byteLength;
    const msg: FromWorker = ided === undefined ? { op: 'sealed', taskId, sealed: b.sealed } : { op: 'sealed', taskId, sealed: b.sealed, id: new Uint8Array(ided) };
    port.postMessage(msg, owns ? [b.sealed.buffer as ArrayBuffer] : []);
  } catch (err) {
    port.postMessage({ op: 'fatal', taskId, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
  }
}

function ask(msg: FromWorker & { taskId: number }, answer: 'need' | 'ack', transfer: ArrayBuffer[] = []): Promise<ToWorker> {
  const key = `${msg.taskId}:${answer}`;
  return new Promise((resolve) => {
    replies.set(key, (m) => {
      replies.delete(key);
      resolve(m);
    });
    port.postMessage(msg, transfer);
  });
}

/** Seal before asking (the main thread claims and drops what the sink has) once this share of the worker's last batch was missing (a first backup: all of it). */
const SPECULATE_ABOVE = 0.9;
let lastMissingShare = 0;

class Batch {
  chunks: Buffer[] = [];
  ids: Buffer[] = [];
  bytes = 0;
  /** The previous batch's blobs, still being sent: at most one per task, so memory stays bounded. */
  sending: Promise<void> | undefined;
}

async function runTask(taskId: number, files: FileJob[]): Promise<void> {
  try {
    const results: FileResult[] = [];
    let bytesRead = 0;
    // One batch for the whole task: a group of small files asks about its chunks together, not one round trip per file.
    const batch = new Batch();
    for (const f of files) {
      const r = await readFile(taskId, f, batch);
      bytesRead += r.bytesRead;
      results.push(r.result);
    }
    // Every blob the results name is in the sink before 'done'.
    await sendBatch(taskId, batch);
    await batch.sending;
    port.postMessage({ op: 'done', taskId, results, bytesRead } satisfies FromWorker);
  } catch (err) {
    port.postMessage({ op: 'fatal', taskId, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
  }
}

/**
 * Reads with synchronous calls on purpose: this is a worker thread, where
 * blocking is free, and a small file then costs four syscalls instead of four
 * trips through libuv's thread pool.
 */
async function readFile(taskId: number, f: FileJob, batch: Batch): Promise<{ result: FileResult; bytesRead: number }> {
  let bytesRead = 0;
  // The first attempt must match what the archiver saw with lstat; a retry matches the file as reopened.
  let expected = { size: BigInt(f.size), mtimeNs: BigInt(f.mtimeNs) };
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      // O_NONBLOCK: a path swapped for a FIFO must not hang the worker; O_NOFOLLOW: nor be swapped for a symlink.
      fd = openSync(f.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { result: { error: `cannot open: ${code ?? (err as Error).message}`, reason: code === 'ENOENT' ? 'vanished' : 'io' }, bytesRead };
    }
    try {
      const opened = fstatSync(fd, { bigint: true });
      if (!opened.isFile()) return { result: { error: 'replaced by something that is not a regular file while read', reason: 'changing' }, bytesRead };
      if (attempt > 1) expected = { size: opened.size, mtimeNs: opened.mtimeNs };
      const chunker = new Chunker(init.chunker);
      const content: string[] = [];
      const size = Number(expected.size);
      let offset = 0;
      // Read exactly the expected size in right-sized buffers (a small file costs one read and
      // one small allocation); growth or shrinkage shows in the fstat below.
      while (offset < size) {
        const want = Math.min(READ_BYTES, size - offset);
        const buf = Buffer.allocUnsafeSlow(want);
        const n = readSync(fd, buf, 0, want, offset);
        if (n === 0) break;
        offset += n;
        bytesRead += n;
        for (const c of chunker.push(n === want ? buf : buf.subarray(0, n))) await addChunk(taskId, batch, content, c);
      }
      const last = chunker.finish();
      if (last) await addChunk(taskId, batch, content, last);
      const after = fstatSync(fd, { bigint: true });
      if (after.size === expected.size && after.mtimeNs === expected.mtimeNs && BigInt(offset) === after.size) {
        return { result: { content, size: offset, ...(attempt > 1 ? { mtimeNs: after.mtimeNs.toString() } : {}) }, bytesRead };
      }
      if (attempt >= READ_ATTEMPTS) {
        return { result: { error: `kept changing while read (${READ_ATTEMPTS} attempts)`, reason: 'changing' }, bytesRead };
      }
    } catch (err) {
      return { result: { error: `read failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, reason: 'io' }, bytesRead };
    } finally {
      closeSync(fd);
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

/**
 * Hands the batch's chunks to the main thread, which claims them in the sink:
 * only the missing ones are sealed and sent. When the last batch was nearly
 * all missing (a first backup) the worker seals everything at once and sends
 * it with the question, so MissingBlobs is answered off its critical path;
 * otherwise it asks first and seals only what is missing (an incremental does
 * not compress what the repository has). Either way it reads on while the
 * blobs are sent, waiting only before sending the next ones.
 */
async function sendBatch(taskId: number, batch: Batch): Promise<void> {
  if (batch.ids.length === 0) return;
  const { ids, chunks } = batch;
  batch.chunks = [];
  batch.ids = [];
  batch.bytes = 0;
  const speculate = lastMissingShare > SPECULATE_ABOVE;
  let need: boolean[] | undefined;
  if (!speculate) {
    const reply = await ask({ op: 'ids', taskId, ids }, 'need');
    if (reply.op !== 'need') throw new Error(`worker protocol: expected need, got ${reply.op}`);
    need = reply.need;
  }
  const blobs: { id: Uint8Array; sealed: Uint8Array; rawLength: number }[] = [];
  const transfer: ArrayBuffer[] = [];
  ids.forEach((id, i) => {
    if (need !== undefined && !need[i]) return;
    const b = sealChunk(dek, 'data', id, chunks[i]!, init.zstdLevel);
    blobs.push({ id: b.id, sealed: b.sealed, rawLength: b.rawLength });
    // Only transfer buffers that own their whole ArrayBuffer (never Node's shared pool).
    if (b.sealed.byteOffset === 0 && b.sealed.byteLength === b.sealed.buffer.byteLength) transfer.push(b.sealed.buffer as ArrayBuffer);
  });
  await batch.sending;
  batch.sending = undefined;
  if (need !== undefined) lastMissingShare = blobs.length / ids.length;
  if (blobs.length === 0) return;
  batch.sending = ask({ op: 'blobs', taskId, blobs, ...(speculate ? { claim: true } : {}) }, 'ack', transfer).then((ack) => {
    if (ack.op !== 'ack') throw new Error(`worker protocol: expected ack, got ${ack.op}`);
    if (speculate) lastMissingShare = ack.sent / ids.length;
  });
  batch.sending.catch(() => undefined); // awaited (and rethrown) by the next send or the task's end
}
