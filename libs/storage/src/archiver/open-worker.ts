/**
 * Worker thread for OpenPool: opens sealed blobs (AES-GCM, zstd, keyed-id
 * check) off the caller's thread. Keys arrive with each job: a restore reads
 * blobs of many data keys, and a coordinator checks uploads of many runs.
 */
import { parentPort } from 'node:worker_threads';
import { openChunk } from '../blob/codec.js';
import { BlobCorruptError } from '../errors.js';
import { asBuffer, type FromOpenWorker, type ToOpenWorker } from './messages.js';

const port = parentPort!;

port.on('message', (m: ToOpenWorker) => {
  try {
    const plain = openChunk({ id: asBuffer(m.dekId), key: asBuffer(m.dekKey) }, asBuffer(m.idKey), asBuffer(m.id), asBuffer(m.sealed), m.rawLength, m.packId);
    if (!m.wantPlaintext) {
      // Moved bytes go back the same way (a transfer, not a copy); a corrupt blob's are dropped with it.
      if (m.returnSealed) port.postMessage({ op: 'opened', taskId: m.taskId, sealed: m.sealed } satisfies FromOpenWorker, [m.sealed.buffer as ArrayBuffer]);
      else port.postMessage({ op: 'opened', taskId: m.taskId } satisfies FromOpenWorker);
      return;
    }
    // Transfer only a buffer that owns its whole ArrayBuffer (never Node's shared pool); copy otherwise.
    const owns = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength;
    const out = owns ? plain : new Uint8Array(plain);
    port.postMessage({ op: 'opened', taskId: m.taskId, plaintext: out } satisfies FromOpenWorker, [out.buffer as ArrayBuffer]);
  } catch (err) {
    if (err instanceof BlobCorruptError) {
      port.postMessage({ op: 'corrupt', taskId: m.taskId, detail: err.detail } satisfies FromOpenWorker);
    } else {
      port.postMessage({ op: 'fatal', taskId: m.taskId, message: (err as Error).stack ?? String(err) } satisfies FromOpenWorker);
    }
  }
});
