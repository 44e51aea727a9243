import type { ChunkerOptions } from '../chunker/index.js';

/** Messages between the archiver (main thread) and its chunk workers. */
export interface WorkerInit {
  chunker: ChunkerOptions;
  idKey: Uint8Array;
  dekId: Uint8Array;
  dekKey: Uint8Array;
  zstdLevel: number;
}

export interface FileJob {
  path: string;
  /** Size and mtime from the archiver's lstat: the baseline a consistent read must still match. */
  size: number;
  mtimeNs: string;
}

export type ToWorker =
  | { op: 'files'; taskId: number; files: FileJob[] }
  /** Seal one chunk (SealPool, for storeStream): `chunk` is the worker's (transferred: a copy, or the caller's own memory moved). */
  | { op: 'seal'; taskId: number; id: Uint8Array; chunk: Uint8Array }
  /** Compute one chunk's keyed id (SealPool, for storeStream): `chunk` as for 'seal'; `returnChunk`: transfer it back with the id. */
  | { op: 'id'; taskId: number; chunk: Uint8Array; returnChunk: boolean }
  /** Compute one chunk's keyed id and seal it, in one trip (SealPool.idAndSeal): the chunk is `parts` joined; answered by 'sealed' with `id`. */
  | { op: 'idSeal'; taskId: number; parts: Uint8Array[] }
  | { op: 'need'; taskId: number; need: boolean[] }
  /** The blobs of a 'blobs' message are in the sink; `sent`: how many (fewer when it carried `claim`). */
  | { op: 'ack'; taskId: number; sent: number };

export interface FileResult {
  /** Blob ids (hex) in order, when the file was read consistently. */
  content?: string[];
  size?: number;
  /** Set when the file changed after the archiver's lstat and was read again: the metadata of what was read. */
  mtimeNs?: string;
  error?: string;
  /** Why it failed: 'vanished' (gone before or while read), 'changing' (kept changing), 'io'. */
  reason?: 'vanished' | 'changing' | 'io';
}

export type FromWorker =
  | { op: 'ids'; taskId: number; ids: Uint8Array[] }
  /**
   * Sealed blobs for the sink. Without `claim` the main thread said they are missing ('need');
   * with it they were sealed before asking, and the main thread claims them and sends only the missing ones.
   */
  | { op: 'blobs'; taskId: number; blobs: { id: Uint8Array; sealed: Uint8Array; rawLength: number }[]; claim?: boolean }
  | { op: 'done'; taskId: number; results: FileResult[]; bytesRead: number }
  /** The answer to 'seal' and 'idSeal': the sealed bytes of that chunk, with its `id` for 'idSeal' (a 'fatal' with the same taskId if sealing threw). */
  | { op: 'sealed'; taskId: number; sealed: Uint8Array; id?: Uint8Array }
  /** The answer to 'id'; `chunk`: the chunk moved back, when asked for (returnChunk). */
  | { op: 'ided'; taskId: number; id: Uint8Array; chunk?: Uint8Array }
  | { op: 'fatal'; taskId: number; message: string };

/** OpenPool's job: open one sealed blob with these keys (the worker holds no keys of its own). */
export interface ToOpenWorker {
  taskId: number;
  dekId: Uint8Array;
  dekKey: Uint8Array;
  idKey: Uint8Array;
  id: Uint8Array;
  /** Transferred: a copy, or the caller's own bytes when `returnSealed`. */
  sealed: Uint8Array;
  /** The caller moved its bytes here instead of copying them (OpenPool.verifyMoving): send them back. */
  returnSealed: boolean;
  rawLength: number | undefined;
  packId: string | undefined;
  /** false: only check the blob (the coordinator on receipt), send no plaintext back. */
  wantPlaintext: boolean;
  /** The base of a delta blob (opened first, its id left to the delta's check), or the candidate base of `makeDelta`. */
  base?: DeltaBaseMessage;
  /** Also try to seal the blob as a delta against `base`; a base that does not open only skips that. */
  makeDelta?: boolean;
}

export interface DeltaBaseMessage {
  id: Uint8Array;
  dekId: Uint8Array;
  dekKey: Uint8Array;
  /** A copy (transferred). */
  sealed: Uint8Array;
  rawLength: number;
  packId: string | undefined;
}

export type FromOpenWorker =
  /** `delta`: with makeDelta, the blob sealed as a delta when that pays; `baseProblem`: why the base could not serve. */
  | { op: 'opened'; taskId: number; plaintext?: Uint8Array; sealed?: Uint8Array; delta?: Uint8Array; baseProblem?: string }
  /** openChunk threw BlobCorruptError: `detail` is its reason. */
  | { op: 'corrupt'; taskId: number; detail: string }
  | { op: 'fatal'; taskId: number; message: string };

export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** A view onto shared memory: a worker reads it where it is (neither copied nor moved). */
export function isShared(b: Uint8Array): boolean {
  return b.buffer instanceof SharedArrayBuffer;
}

/** A buffer that is its whole (unshared) ArrayBuffer: it can be moved to another thread instead of copied. */
export function ownsItsMemory(b: Uint8Array): boolean {
  return !isShared(b) && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
}

/**
 * `b`, or a copy of it in an ArrayBuffer of its own. postMessage clones a
 * view's WHOLE ArrayBuffer: a DEK decoded from a ~1 MiB DownloadBlobs message
 * is a view into that message, and an id from Buffer.from one into the 8 KiB
 * pool, so each job copied up to a megabyte (twice with a delta's base) and
 * the garbage kept both threads' collectors busy. A transfer likewise moves
 * the whole ArrayBuffer (Node's shared pool with it).
 */
export function ownCopy(b: Uint8Array): Uint8Array {
  return ownsItsMemory(b) ? b : new Uint8Array(b);
}
