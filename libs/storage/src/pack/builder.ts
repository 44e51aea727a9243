import { createHash } from 'node:crypto';
import { seal } from '@pbk/crypto';
import { PackBuffers } from './buffers.js';
import { encodeEntries, MAX_PACK_BYTES, PACK_HEADER_BYTES, PACK_MAGIC, TRAILER_AAD, type PackEntry, type BlobType } from './format.js';

export interface SealedBlob {
  type: BlobType;
  id: Buffer;
  dekId: Buffer;
  /** nonce || ciphertext || tag, as written into the pack. */
  sealed: Buffer;
  rawLength: number;
  /** Stored as a delta against this data blob (docs/repository-format.md, "Delta blobs"). */
  deltaBase?: Buffer;
}

export interface FinishedPack {
  /** SHA-256 of the whole pack file, hex: its name in the repository. */
  id: string;
  /** The whole pack file, in one buffer (the builder's: see release). */
  parts: [Buffer];
  length: number;
  entries: PackEntry[];
  /**
   * Gives the pack's memory back to the builder's PackBuffers once the pack is
   * written (or its write failed): `parts` must not be used afterwards. Safe
   * to call more than once.
   */
  release(): void;
}

/**
 * Lays sealed blobs out as one pack file in memory, in a buffer from
 * `buffers`: each blob is copied in as it is added, so the caller may reuse
 * its buffer as soon as add() returns. Without PackBuffers of the caller's,
 * the memory is the builder's own and is not reused.
 */
export class PackBuilder {
  private readonly entries: PackEntry[] = [];
  private bytes = PACK_HEADER_BYTES;
  /** The pack so far, bytes [0, this.bytes); taken at the first add (or at finish). */
  private buf: Buffer | undefined;

  constructor(private readonly buffers: PackBuffers = new PackBuffers(0, 0)) {}

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.length;
  }

  add(blob: SealedBlob): void {
    if (this.bytes + blob.sealed.length > MAX_PACK_BYTES - (1 << 20)) throw new RangeError('pack would exceed 4 GiB');
    const entry: PackEntry = { type: blob.type, id: blob.id, dekId: blob.dekId, offset: this.bytes, length: blob.sealed.length, rawLength: blob.rawLength };
    if (blob.deltaBase) entry.deltaBase = blob.deltaBase;
    blob.sealed.copy(this.reserve(blob.sealed.length), this.bytes);
    this.entries.push(entry);
    this.bytes += blob.sealed.length;
  }

  finish(metaKey: Buffer): FinishedPack {
    const trailer = seal(metaKey, encodeEntries(this.entries), TRAILER_AAD);
    const length = this.bytes + trailer.length + 4;
    const buf = this.reserve(trailer.length + 4);
    trailer.copy(buf, this.bytes);
    buf.writeUInt32LE(trailer.length, this.bytes + trailer.length);
    this.buf = undefined;
    const view = buf.subarray(0, length);
    let released = false;
    const buffers = this.buffers;
    return {
      id: createHash('sha256').update(view).digest('hex'),
      parts: [view],
      length,
      entries: this.entries,
      release: () => {
        if (released) return;
        released = true;
        buffers.give(buf);
      },
    };
  }

  /** A builder dropped unfinished (abandoned writes): its memory goes back. */
  discard(): void {
    if (this.buf !== undefined) this.buffers.give(this.buf);
    this.buf = undefined;
  }

  /** The pack buffer, with room for `more` bytes after this.bytes. */
  private reserve(more: number): Buffer {
    const need = this.bytes + more;
    if (this.buf === undefined) {
      this.buf = this.buffers.take(need);
      PACK_MAGIC.copy(this.buf, 0);
    } else if (need > this.buf.length) {
      // A blob (or a trailer) larger than the room left: move to a larger buffer.
      const bigger = this.buffers.take(Math.max(need, 2 * this.buf.length));
      this.buf.copy(bigger, 0, 0, this.bytes);
      this.buffers.give(this.buf);
      this.buf = bigger;
    }
    return this.buf;
  }
}
