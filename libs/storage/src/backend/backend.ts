import type { Readable } from 'node:stream';

/** A byte range of an object: `length` bytes from `offset`; `length` omitted means to the end. */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface ObjectInfo {
  name: string;
  size: number;
}

export interface OpOptions {
  signal?: AbortSignal;
}

/**
 * Bytes by name: the lowest storage layer. Names are relative, `/`-separated,
 * made of [A-Za-z0-9._-] segments (e.g. `data/3f/3fa9...`, `index/ab12...`, `config`).
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
 */
export interface Backend {
  /** Human-readable location, for messages (a path or URL without credentials). */
  readonly location: string;
  put(name: string, data: Buffer | AsyncIterable<Buffer>, options?: OpOptions): Promise<void>;
  get(name: string, range?: ByteRange, options?: OpOptions): Promise<Buffer>;
  createReadStream(name: string, range?: ByteRange, options?: OpOptions): Readable;
  stat(name: string, options?: OpOptions): Promise<ObjectInfo>;
  /** Objects whose name starts with `prefix` (a folder such as `data/` lists recursively). Order is unspecified. */
  list(prefix: string, options?: OpOptions): AsyncIterable<ObjectInfo>;
  delete(name: string, options?: OpOptions): Promise<void>;
}
