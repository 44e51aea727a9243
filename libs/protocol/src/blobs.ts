/**
 * Framing of sealed blobs into UploadBlobs/DownloadBlobs messages (BlobPart in
 * common.proto): small blobs share a ~1 MiB message, large ones are split into
 * parts so no message comes near the size limit. Both ends use these, so the
 * rules written in the proto are enforced in one place.
 */
import { ProtocolError } from './errors.js';
import type { BlobPart, BlobPart__Output } from './generated/pbk/v1/BlobPart.js';
import { BLOB_MESSAGE_BYTES, MAX_SEALED_BLOB_BYTES } from './limits.js';

export type WireBlobType = 'BLOB_TYPE_DATA' | 'BLOB_TYPE_TREE';

/** A sealed blob as it travels: the storage layer's SealedBlob with the wire's type names. */
export interface WireBlob {
  id: Buffer;
  type: WireBlobType;
  dekId: Buffer;
  /** Plaintext length before compression. */
  rawLength: number;
  /** nonce || ciphertext || tag. */
  sealed: Buffer;
  /** BlobPart.delta_base: on uploads a hint, on downloads the base this (delta) blob needs. */
  deltaBase?: Buffer;
  /** BlobPart.base_only (downloads): not asked for, the base of the next blob. */
  baseOnly?: boolean;
  /**
   * Set when `sealed` is borrowed memory (a BlobAssembler's allocator): call
   * it once nothing reads `sealed` any more (its bytes copied into a pack, or
   * the blob refused). Safe to call more than once.
   */
  release?: () => void;
}

/** Memory an allocator lends for one blob's bytes. */
export interface BlobMemory {
  bytes: Buffer;
  release(): void;
}

/** Lends `size` bytes, or answers undefined (the assembler then allocates them itself). */
export type BlobAllocator = (size: number) => BlobMemory | undefined;

/** Protobuf framing and fixed fields of one part, beyond its data (an over-estimate keeps messages under budget). */
const PART_OVERHEAD_BYTES = 64;

/**
 * Groups blobs into messages of about `maxBytes`. push() returns the messages
 * that became full (send them in order); flush() the last, partial one.
 */
export class BlobMessageBatcher {
  #parts: BlobPart[] = [];
  #bytes = 0;

  constructor(readonly maxBytes: number = BLOB_MESSAGE_BYTES) {
    if (maxBytes < 4096) throw new ProtocolError('INVALID_ARGUMENT', 'blob messages need at least 4 KiB');
  }

  push(blob: WireBlob): BlobPart[][] {
    if (blob.sealed.length > MAX_SEALED_BLOB_BYTES) {
      throw new ProtocolError('INVALID_ARGUMENT', `blob ${blob.id.toString('hex')} is ${blob.sealed.length} bytes sealed, over the ${MAX_SEALED_BLOB_BYTES}-byte limit`);
    }
    const full: BlobPart[][] = [];
    const overhead = PART_OVERHEAD_BYTES + blob.id.length + blob.dekId.length + (blob.deltaBase?.length ?? 0);
    let offset = 0;
    do {
      let room = this.maxBytes - this.#bytes - overhead;
      // Do not start a blob in a nearly full message; send it and start fresh.
      if (this.#parts.length > 0 && room < Math.min(4096, blob.sealed.length - offset)) {
        full.push(this.#take());
        room = this.maxBytes - overhead;
      }
      const end = Math.min(blob.sealed.length, offset + room);
      this.#parts.push({
        id: blob.id,
        type: blob.type,
        dekId: blob.dekId,
        rawLength: blob.rawLength,
        sealedLength: blob.sealed.length,
        offset,
        data: blob.sealed.subarray(offset, end),
        ...(blob.deltaBase ? { deltaBase: blob.deltaBase } : {}),
        ...(blob.baseOnly ? { baseOnly: true } : {}),
      });
      this.#bytes += overhead + (end - offset);
      offset = end;
    } while (offset < blob.sealed.length);
    return full;
  }

  flush(): BlobPart[] | undefined {
    return this.#parts.length === 0 ? undefined : this.#take();
  }

  #take(): BlobPart[] {
    const parts = this.#parts;
    this.#parts = [];
    this.#bytes = 0;
    return parts;
  }
}

/**
 * Rebuilds blobs from parts received in order. Rejects (INVALID_ARGUMENT)
 * anything that breaks the framing rules: interleaved blobs, gaps, changed
 * fields between parts, or a declared size over MAX_SEALED_BLOB_BYTES (checked
 * before allocating, so a peer cannot make us reserve memory it never sends).
 */
export class BlobAssembler {
  #current: { first: BlobPart__Output; buffer: Buffer; filled: number; release: (() => void) | undefined } | undefined;

  /**
   * `allocate`: where blobs' bytes go (the coordinator's SharedRing); without
   * it, or when it has no room, each blob gets a buffer of its own. Blobs in
   * borrowed memory carry `release`.
   */
  constructor(private readonly allocate?: BlobAllocator) {}

  push(parts: readonly BlobPart__Output[]): WireBlob[] {
    const done: WireBlob[] = [];
    try {
      for (const part of parts) {
        const blob = this.#add(part);
        if (blob) done.push(blob);
      }
    } catch (err) {
      // Nobody will see the blobs completed before the bad part: their memory goes back now.
      for (const blob of done) blob.release?.();
      this.abort();
      throw err;
    }
    return done;
  }

  /** Call at the end of the stream: a blob cut off mid-way is an error, never a short blob. */
  finish(): void {
    if (this.#current) {
      const { first, filled } = this.#current;
      this.abort();
      throw new ProtocolError('INVALID_ARGUMENT', `the stream ended inside blob ${first.id.toString('hex')} (${filled} of ${first.sealedLength} bytes)`);
    }
  }

  /** Drops a blob still being assembled (the stream failed): its memory goes back. */
  abort(): void {
    this.#current?.release?.();
    this.#current = undefined;
  }

  /** Memory for one blob: the allocator's when it has room. */
  #memory(size: number): { buffer: Buffer; release: (() => void) | undefined } {
    const lent = this.allocate?.(size);
    return lent ? { buffer: lent.bytes, release: lent.release } : { buffer: Buffer.allocUnsafe(size), release: undefined };
  }

  #add(part: BlobPart__Output): WireBlob | undefined {
    const hex = part.id.toString('hex');
    if (this.#current === undefined) {
      if (part.offset !== 0) throw framing(`blob ${hex} starts at offset ${part.offset}, not 0`);
      if (part.type !== 'BLOB_TYPE_DATA' && part.type !== 'BLOB_TYPE_TREE') throw framing(`blob ${hex} has type ${String(part.type)}`);
      if (part.id.length === 0 || part.dekId.length === 0) throw framing('a blob part needs an id and a DEK id');
      if (part.sealedLength <= 0 || part.sealedLength > MAX_SEALED_BLOB_BYTES) {
        throw framing(`blob ${hex} declares ${part.sealedLength} sealed bytes; the limit is ${MAX_SEALED_BLOB_BYTES}`);
      }
      // Decoded messages always have the field (an empty buffer); hand-built parts may leave it out.
      const baseLength = part.deltaBase?.length ?? 0;
      if (baseLength !== 0 && baseLength !== 32) throw framing(`blob ${hex} names a delta base of ${baseLength} bytes, not 32`);
      // The common case, a blob in one part.
      if (part.data.length === part.sealedLength) {
        const blob: WireBlob = { id: own(part.id), type: part.type, dekId: own(part.dekId), rawLength: part.rawLength, sealed: part.data };
        // A whole blob in one part is a view into its ~1 MiB message: copy it, so a receiver that
        // keeps the blob (a pack being filled) does not keep the whole message alive with it.
        if (part.data.byteLength !== part.data.buffer.byteLength) {
          const { buffer, release } = this.#memory(part.sealedLength);
          part.data.copy(buffer);
          blob.sealed = buffer;
          if (release) blob.release = release;
        }
        return withDelta(blob, part);
      }
      this.#current = { first: part, ...this.#memory(part.sealedLength), filled: 0 };
    }
    const cur = this.#current;
    const { first } = cur;
    if (!part.id.equals(first.id)) throw framing(`blob ${hex} starts before blob ${first.id.toString('hex')} is complete`);
    if (part.offset !== cur.filled) throw framing(`blob ${hex}: part at offset ${part.offset}, expected ${cur.filled}`);
    if (
      part.sealedLength !== first.sealedLength ||
      part.rawLength !== first.rawLength ||
      part.type !== first.type ||
      !part.dekId.equals(first.dekId) ||
      !(part.deltaBase ?? EMPTY).equals(first.deltaBase ?? EMPTY) ||
      Boolean(part.baseOnly) !== Boolean(first.baseOnly)
    ) {
      throw framing(`blob ${hex}: parts disagree on its length, type, DEK or delta base`);
    }
    if (part.data.length === 0 || cur.filled + part.data.length > first.sealedLength) {
      throw framing(`blob ${hex}: part of ${part.data.length} bytes at offset ${part.offset} does not fit its ${first.sealedLength} bytes`);
    }
    part.data.copy(cur.buffer, cur.filled);
    cur.filled += part.data.length;
    if (cur.filled < first.sealedLength) return undefined;
    this.#current = undefined;
    const blob: WireBlob = { id: own(first.id), type: first.type as WireBlobType, dekId: own(first.dekId), rawLength: first.rawLength, sealed: cur.buffer };
    if (cur.release) blob.release = cur.release;
    return withDelta(blob, first);
  }
}

const EMPTY = Buffer.alloc(0);

function withDelta(blob: WireBlob, part: BlobPart__Output): WireBlob {
  if (part.deltaBase && part.deltaBase.length > 0) blob.deltaBase = own(part.deltaBase);
  if (part.baseOnly) blob.baseOnly = true;
  return blob;
}

/**
 * A copy of a short field (id, DEK id) of a decoded message: as a view it
 * would keep the whole ~1 MiB message alive for as long as the receiver keeps
 * it, and the coordinator's index keeps every id (a 1 GiB upload held ~1 GiB).
 */
function own(b: Buffer): Buffer {
  return Buffer.from(b);
}

function framing(message: string): ProtocolError {
  return new ProtocolError('INVALID_ARGUMENT', `bad blob framing: ${message}`);
}
