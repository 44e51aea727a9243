import { ChunkerOptionsError, MAX_CHUNK_SIZE } from './options.js';

/**
 * Cuts a stream every `size` bytes, whatever the content: for files whose
 * bytes never move (PostgreSQL relation files are arrays of 8 KiB pages at
 * fixed offsets), where content-defined boundaries would shift with the bytes
 * changed inside a page, and chunk i of one version lines up with chunk i of
 * the next (the delta base of docs/repository-format.md, "Delta blobs").
 * The content-defined Chunker cannot do this (it needs minSize < avgSize <
 * maxSize). Same push/finish contract as Chunker: pushed buffers must stay
 * intact while chunks (views of them) are held.
 */
export class FixedChunker {
  private pending: Buffer[] = [];
  private pendingLen = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) {
      throw new ChunkerOptionsError('maxSize', `a fixed chunk size must be a whole number from 1 to ${MAX_CHUNK_SIZE}, got ${String(size)}`);
    }
  }

  /** Feed bytes; returns the chunks completed by them, in order. Holds the unfinished tail. */
  push(data: Uint8Array): Buffer[] {
    return this.pushParts(data).map((parts) => (parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.size)));
  }

  /** End of stream: the last (short) chunk, or undefined if no bytes are pending. Ready for a new stream after. */
  finish(): Buffer | undefined {
    const parts = this.finishParts();
    if (parts === undefined) return undefined;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * push(), but each chunk as the views of the pushed buffers it is made of,
   * in order, not copied into one buffer: for a caller that hands the pieces
   * on (to a worker thread, by transfer) and lets the other side join them.
   */
  pushParts(data: Uint8Array): Buffer[][] {
    let buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: Buffer[][] = [];
    while (buf.length > 0) {
      const need = this.size - this.pendingLen;
      if (buf.length < need) {
        this.pending.push(buf);
        this.pendingLen += buf.length;
        break;
      }
      // A whole chunk inside one piece is a single view of it.
      this.pending.push(buf.subarray(0, need));
      out.push(this.pending);
      this.pending = [];
      this.pendingLen = 0;
      buf = buf.subarray(need);
    }
    return out;
  }

  /** finish() as parts (see pushParts). */
  finishParts(): Buffer[] | undefined {
    if (this.pendingLen === 0) return undefined;
    const parts = this.pending;
    this.pending = [];
    this.pendingLen = 0;
    return parts;
  }
}
