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
    let buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out: Buffer[] = [];
    while (buf.length > 0) {
      const need = this.size - this.pendingLen;
      if (this.pendingLen === 0 && buf.length >= this.size) {
        // A whole chunk inside one piece: a view, no copy.
        out.push(buf.subarray(0, this.size));
        buf = buf.subarray(this.size);
        continue;
      }
      if (buf.length < need) {
        this.pending.push(buf);
        this.pendingLen += buf.length;
        break;
      }
      this.pending.push(buf.subarray(0, need));
      out.push(Buffer.concat(this.pending, this.size));
      this.pending = [];
      this.pendingLen = 0;
      buf = buf.subarray(need);
    }
    return out;
  }

  /** End of stream: the last (short) chunk, or undefined if no bytes are pending. Ready for a new stream after. */
  finish(): Buffer | undefined {
    if (this.pendingLen === 0) return undefined;
    const last = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    return last;
  }
}
