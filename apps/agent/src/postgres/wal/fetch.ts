/**
 * Reading one WAL file back from the coordinator (GetWal) for wal-fetch:
 * every blob opened with the DEK the stream sent for it and checked against
 * its id (AES-GCM, then HMAC(id-key, plaintext) == id), the bytes checked
 * against the recorded size and SHA-256. Any mismatch is an error naming the
 * file and the blob: recovery must stop there, never replay damaged WAL.
 *
 * WAL is not uploaded with delta hints, so it is not stored as deltas; should
 * a blob come as one anyway (the coordinator sends it right after its base,
 * as for restores), it is opened with that base and checked like any other,
 * and a delta out of that order stops recovery.
 */
import { createHash } from 'node:crypto';
import { BlobAssembler, fromGrpcStatus, type v1, type WireBlob } from '@pbk/protocol';
import { runOpenJob, type OpenPool } from '@pbk/storage';
import { pairWithBase } from '../../wire/blob-reader.js';
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
  /** The file's bytes as the blobs opened, in order: serving or spooling them needs no 16 MiB copy. */
  pieces: Buffer[];
  size: number;
  /** The bytes in one buffer (a copy, made when asked). */
  readonly data: Buffer;
}

/** The file's bytes; NOT_FOUND (a RemoteError) when the coordinator has no complete file of that name. */
/**
 * `pool`: opens the blobs on worker threads. The local API serves one segment
 * while it reads the next ones ahead: opened on its own thread (16 MiB
 * decrypted, decompressed and hashed), they held up the socket writes of the
 * segment recovery was waiting for, by up to ~150 ms a segment.
 */
export async function fetchWal(
  rpc: Pick<WalRpc, 'getWal'>,
  source: v1.SourceRef,
  fileName: string,
  signal?: AbortSignal,
  opts: { allowPartial?: boolean; pool?: Pick<OpenPool, 'open'> } = {},
): Promise<FetchedWal> {
  const call = rpc.getWal({ source, fileName, allowPartial: opts.allowPartial === true });
  const onAbort = (): void => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const assembler = new BlobAssembler();
  const keys = new Map<string, { id: Buffer; key: Buffer }>();
  let idKey: Buffer | undefined;
  let file: v1.WalFile__Output | undefined;
  const pieces: Promise<Buffer>[] = [];
  /** The last base-only blob, until the delta it came for. */
  let base: WireBlob | undefined;
  try {
    for await (const msg of call as AsyncIterable<v1.GetWalResponse__Output>) {
      if (msg.file) file = msg.file;
      const blobs = msg.blobs;
      if (!blobs) continue;
      if (blobs.idKey.length === 32) idKey = blobs.idKey;
      for (const k of blobs.keys) keys.set(k.id.toString('hex'), { id: k.id, key: k.key });
      for (const blob of assembler.push(blobs.parts)) {
        const hex = blob.id.toString('hex');
        let paired: WireBlob | undefined;
        try {
          paired = pairWithBase(blob, base);
        } catch (err) {
          throw new WalCorruptError(fileName, hex, `WAL file ${fileName}: ${messageOf(err)}; recovery must stop here`, { cause: err });
        }
        base = blob.baseOnly ? blob : undefined;
        if (blob.baseOnly) continue; // not part of the file: the base of the next blob
        const dek = keys.get(blob.dekId.toString('hex'));
        const baseDek = paired && keys.get(paired.dekId.toString('hex'));
        if (dek === undefined || idKey === undefined || (paired !== undefined && baseDek === undefined)) {
          throw new WalCorruptError(fileName, hex, `WAL file ${fileName}: blob ${hex} arrived without its key; the coordinator must send keys and the id-key first`);
        }
        const damaged = (err: unknown): WalCorruptError =>
          new WalCorruptError(fileName, hex, `WAL file ${fileName} is damaged: blob ${hex} does not open or does not match its id (${messageOf(err)}); recovery must stop here. Run 'pbk verify' on the coordinator`, { cause: err });
        const deltaBase = paired && { id: paired.id, dek: baseDek!, sealed: paired.sealed, rawLength: paired.rawLength };
        let piece: Promise<Buffer>;
        if (opts.pool) {
          piece = opts.pool.open(dek, idKey, blob.id, blob.sealed, blob.rawLength, undefined, deltaBase).catch((err: unknown) => Promise.reject(damaged(err)));
        } else {
          try {
            piece = Promise.resolve(runOpenJob({ dek, idKey, id: blob.id, sealed: blob.sealed, rawLength: blob.rawLength, packId: undefined, ...(deltaBase ? { base: deltaBase } : {}) }).plaintext);
          } catch (err) {
            throw damaged(err);
          }
        }
        piece.catch(() => undefined); // awaited in order below; a stream that fails first leaves it unobserved
        pieces.push(piece);
      }
    }
    if (base !== undefined) throw new WalCorruptError(fileName, base.id.toString('hex'), `WAL file ${fileName}: base blob ${base.id.toString('hex')} (base_only) ended the stream without the delta it came for; recovery must stop here`);
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
  // Hashed piece by piece as they open, not 16 MiB in one go: the thread keeps serving in between.
  const hash = createHash('sha256');
  const opened: Buffer[] = [];
  let total = 0;
  for (const piece of pieces) {
    const b = await piece;
    hash.update(b);
    opened.push(b);
    total += b.length;
  }
  const size = Number(file.size);
  if (total !== size) {
    throw new WalCorruptError(fileName, undefined, `WAL file ${fileName}: the coordinator sent ${total} bytes, its record says ${size}; recovery must stop here. Run 'pbk verify' on the coordinator`);
  }
  const sha = hash.digest();
  if (!sha.equals(file.sha256)) {
    throw new WalCorruptError(fileName, undefined, `WAL file ${fileName}: its bytes do not match the recorded SHA-256; recovery must stop here. Run 'pbk verify' on the coordinator`);
  }
  return {
    file,
    pieces: opened,
    size: total,
    get data(): Buffer {
      return opened.length === 1 ? opened[0]! : Buffer.concat(opened, total);
    },
  };
}
