import { createHash } from 'node:crypto';
import { seal } from '@pbk/crypto';
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
  parts: Buffer[];
  length: number;
  entries: PackEntry[];
}

/** Collects sealed blobs in memory and lays them out as one pack file. */
export class PackBuilder {
  private readonly parts: Buffer[] = [PACK_MAGIC];
  private readonly entries: PackEntry[] = [];
  private bytes = PACK_HEADER_BYTES;

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
    this.entries.push(entry);
    this.parts.push(blob.sealed);
    this.bytes += blob.sealed.length;
  }

  finish(metaKey: Buffer): FinishedPack {
    const trailer = seal(metaKey, encodeEntries(this.entries), TRAILER_AAD);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(trailer.length, 0);
    const parts = [...this.parts, trailer, len];
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    return { id: hash.digest('hex'), parts, length: this.bytes + trailer.length + 4, entries: this.entries };
  }
}
