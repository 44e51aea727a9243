import type { Readable } from 'node:stream';

/**
 * A byte range of an object: `length` bytes from `offset`; `length` omitted means to the end.
 * offset and length are non-negative integers (anything else: StorageError INVALID_ARGUMENT).
 *
 * A range that runs past the end of the object yields the short tail: the bytes that exist,
 * and an empty Buffer when `offset` is at or past the end. Not an error, because a backend
 * cannot tell a wrong offset from a truncated object; the layer that knows the expected
 * length (the pack reader, from the index) checks it and names the damage (a corrupt pack),
 * which INVALID_ARGUMENT would misreport as a caller bug. It is also what object stores'
 * HTTP ranges do. Callers that need exact lengths compare `result.length`.
 */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface ObjectInfo {
  name: string;
  size: number;
  /** Last modification (fs mtime, S3 LastModified) when the backend knows it; GC's grace period relies on it. */
  modified?: Date;
}

export interface OpOptions {
  signal?: AbortSignal;
}

/**
 * Bytes by name: the lowest storage layer. Names are relative, `/`-separated,
 * made of [A-Za-z0-9._-] segments (e.g. `data/3f/3fa9...`, `index/ab12...`, `config`).
 * No empty segments, no segment starting with '.' (so no `.`/`..`, and backends keep the
 * dot namespace for their own temp files), at most 255 bytes a segment and 1024 a name
 * (names.ts); anything else is rejected with StorageError INVALID_ARGUMENT.
 *
 * Guarantees every implementation keeps (checked by the contract suite):
 * - put is atomic: a reader sees the whole object or no object, never a prefix,
 *   also when the writer crashes or the disk fills mid-write.
 * - put is durable when it resolves (fsync of file and directory, or the object
 *   store's acknowledgement).
 * - read-after-write: once put resolves, get/stat/list see the object.
 * - put over an existing name replaces it atomically.
 * - a missing object is reported as NotFoundError by get, stat, createReadStream;
 *   delete of a missing object succeeds (idempotent).
 * - every failure is one of the typed StorageErrors (the backend classifies its own errors).
 * - an aborted signal rejects with CancelledError and leaves no partial object.
 * - list never shows a put in progress (no temp objects, no prefixes of objects).
 * - put reads a Buffer only until it settles (resolved or rejected): the caller
 *   may reuse that memory afterwards (the repository reuses its pack buffers).
 *
 * Decorators (retrying.ts, throttled.ts) add retries and limits; wrapBackend (compose.ts)
 * is the one place they are stacked. The contract suite is test/backend-contract.ts.
 */
export interface Backend {
  /** Human-readable location, for messages (a path or URL without credentials). */
  readonly location: string;
  /**
   * Stores `data` under `name`, replacing any object of that name atomically. An AsyncIterable
   * is pulled one chunk at a time as the backend writes (backpressure, bounded memory) and
   * cannot be replayed, so only Buffer puts are retried by RetryingBackend. If the source
   * throws, nothing is stored (an object previously under the name is kept): a StorageError
   * from the source is passed on as is; an error with an errno `code` is classified like the
   * backend's own (so an injected ENOSPC reads as NoSpaceError); any other error is wrapped in
   * a StorageError INTERNAL. The original is kept as `cause`.
   */
  put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void>;
  /** The object's bytes, or the range of them (past the end: the short tail, see ByteRange). */
  get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer>;
  /**
   * The same bytes as get, as a stream for large objects. Never throws: every failure (an
   * invalid name, NotFoundError, CancelledError) arrives as the stream's 'error' event.
   */
  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable;
  stat(name: string, options?: OpOptions): Promise<ObjectInfo>;
  /**
   * Objects whose name starts with `prefix` (a folder such as `data/` lists recursively; '' lists
   * everything; `data/3f` matches `data/3f/...` and `data/3fx`). Order is unspecified. Names use
   * '/' on every platform.
   */
  list(prefix: string, options?: OpOptions): AsyncIterable<ObjectInfo>;
  /** Removes the object, durably; succeeds when there is nothing to remove. */
  delete(name: string, options?: OpOptions): Promise<void>;
  /** Releases what the backend holds open (read handles, connections); optional. */
  close?(): Promise<void>;
}
