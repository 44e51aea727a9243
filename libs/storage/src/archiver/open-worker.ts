/**
 * Worker thread for OpenPool: opens sealed blobs (AES-GCM, zstd, keyed-id
 * check) off the caller's thread. Keys arrive with each job: a restore reads
 * blobs of many data keys, and a coordinator checks uploads of many runs.
 */
import { parentPort } from 'node:worker_threads';
import { BlobCorruptError } from '../errors.js';
import { asBuffer, ownCopy, type FromOpenWorker, type ToOpenWorker } from './messages.js';
import { runOpenJob } from './open-job.js';

const port = parentPort!;

port.on('message', (m: ToOpenWorker) => {
  try {
    const b = m.base;
    const { plaintext, delta, baseProblem } = runOpenJob({
      dek: { id: asBuffer(m.dekId), key: asBuffer(m.dekKey) },
      idKey: asBuffer(m.idKey),
      id: asBuffer(m.id),
      sealed: asBuffer(m.sealed),
      rawLength: m.rawLength,
      packId: m.packId,
      base: b && { id: asBuffer(b.id), dek: { id: asBuffer(b.dekId), key: asBuffer(b.dekKey) }, sealed: asBuffer(b.sealed), rawLength: b.rawLength, packId: b.packId },
      makeDelta: m.makeDelta,
      // Only checked (the coordinator on receipt): no fresh buffer per blob for a plaintext nobody keeps.
      transient: !m.wantPlaintext,
    });
    const out: FromOpenWorker & { op: 'opened' } = { op: 'opened', taskId: m.taskId };
    const transfer: ArrayBuffer[] = [];
    // Moved bytes go back the same way (a transfer, not a copy); a corrupt blob's are dropped with it.
    if (m.returnSealed) {
      out.sealed = m.sealed;
      transfer.push(m.sealed.buffer as ArrayBuffer);
    }
    if (m.wantPlaintext) {
      out.plaintext = ownCopy(plaintext);
      transfer.push(out.plaintext.buffer as ArrayBuffer);
    }
    if (delta) {
      out.delta = ownCopy(delta);
      transfer.push(out.delta.buffer as ArrayBuffer);
    }
    if (baseProblem !== undefined) out.baseProblem = baseProblem;
    port.postMessage(out, transfer);
  } catch (err) {
    if (err instanceof BlobCorruptError) {
      port.postMessage({ op: 'corrupt', taskId: m.taskId, detail: err.detail } satisfies FromOpenWorker);
    } else {
      port.postMessage({ op: 'fatal', taskId: m.taskId, message: (err as Error).stack ?? String(err) } satisfies FromOpenWorker);
    }
  }
});
