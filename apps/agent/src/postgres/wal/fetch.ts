/**
 * Reading one WAL file back from the coordinator (GetWal) for wal-fetch:
 * every blob opened with the DEK the stream sent for it and checked against
 * its id (AES-GCM, then HMAC(id-key, plaintext) == id), the bytes checked
 * against the recorded size and SHA-256. Any mismatch is an error naming the
 * file and the blob: recovery must stop there, never replay damaged WAL.
 */
import { createHash } from 'node:crypto';
import { BlobAssembler, fromGrpcStatus, type v1 } from '@pbk/protocol';
import { openChunk } from '@pbk/storage';
import { AgentError, messageOf } from '../../errors.js';
import type { WalRpc } from './uploader.js';

/** The WAL file is damaged in the repository (a blob does not open, or the bytes do not match the record). */
export class WalCorruptError extends AgentError {
  readonly fileName: string;
  readonly blobId: string | undefined;
  constructor(fileName: string, blobId: string | undefined, message: string, options?: { cause?: unknown }) {
    super('CORRUPT', message, options);
    this.fileName = fileName;
    this.blobId = blobId;
  }
}

export interface FetchedWal {
  file: v1.WalFile__Output;
  data: Buffer;
}

/** The file's bytes; NOT_FOUND (a RemoteError) when the coordinator has no complete file of that name. */
export async function fetchWal(rpc: Pick<WalRpc, 'getWal'>, source: v1.SourceRef, fileName: string, signal?: AbortSignal, opts: { allowPartial?: boolean } = {}): Promise<FetchedWal> {
  const call = rpc.getWal({ source, fileName, allowPartial: opts.allowPartial === true });
  const onAbort = (): void => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const assembler = new BlobAssembler();
  const keys = new Map<string, { id: Buffer; key: Buffer }>();
  let idKey: Buffer | undefined;
  let file: v1.WalFile__Output | undefined;
  const pieces: Buffer[] = [];
  try {
    for await (const msg of call as AsyncIterable<v1.GetWalResponse__Output>) {
      if (msg.file) file = msg.file;
      const blobs = msg.blobs;
      if (!blobs) continue;
      if (blobs.idKey.length === 32) idKey = blobs.idKey;
      for (const k of blobs.keys) keys.set(k.id.toString('hex'), { id: k.id, key: k.key });
      for (const blob of assembler.push(blobs.parts)) {
        const hex = blob.id.toString('hex');
        const dek = keys.get(blob.dekId.toString('hex'));
        if (dek === undefined || idKey === undefined) {
          throw new WalCorruptError(fileName, hex, `WAL file ${fileName}: blob ${hex} arrived without its key; the coordinator must send keys and the id-key first`);
        }
        if (blob.deltaBase !== undefined || blob.baseOnly) {
          // WAL is never stored as deltas: such a blob is not WAL of this file, and opening it without its base would fail obscurely.
          throw new WalCorruptError(fileName, hex, `WAL file ${fileName}: blob ${hex} arrived as a ${blob.baseOnly ? 'delta base' : 'delta blob'}, and WAL is never delta-encoded; recovery must stop here. Run 'pbk verify' on the coordinator`);
        }
        try {
          pieces.push(openChunk(dek, idKey, blob.id, blob.sealed, blob.rawLength));
        } catch (err) {
          throw new WalCorruptError(fileName, hex, `WAL file ${fileName} is damaged: blob ${hex} does not open or does not match its id (${messageOf(err)}); recovery must stop here. Run 'pbk verify' on the coordinator`, { cause: err });
        }
      }
    }
    assembler.finish();
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const e = err as { code?: unknown; details?: unknown };
    if (typeof e?.code === 'number' && 'details' in (e as object)) throw fromGrpcStatus(e as Parameters<typeof fromGrpcStatus>[0]);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (file === undefined) throw new AgentError('INTERNAL', `GetWal for ${fileName} ended without describing the file`);
  const data = Buffer.concat(pieces);
  const size = Number(file.size);
  if (data.length !== size) {
    throw new WalCorruptError(fileName, undefined, `WAL file ${fileName}: the coordinator sent ${data.length} bytes, its record says ${size}; recovery must stop here. Run 'pbk verify' on the coordinator`);
  }
  const sha = createHash('sha256').update(data).digest();
  if (!sha.equals(file.sha256)) {
    throw new WalCorruptError(fileName, undefined, `WAL file ${fileName}: its bytes do not match the recorded SHA-256; recovery must stop here. Run 'pbk verify' on the coordinator`);
  }
  return { file, data };
}
