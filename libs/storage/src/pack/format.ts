/**
 * Pack file layout (docs/repository-format.md, "Pack files"):
 *
 *   header   "PBKPACK1" (8 bytes)
 *   blob_1 .. blob_n     each a sealed blob: nonce(12) || ciphertext || tag(16)
 *   trailer  seal(metaKey, trailerPlaintext, AAD "pbk-pack-trailer-v1")
 *   trailerLength        uint32 little-endian: byte length of the sealed trailer
 *
 * trailerPlaintext = count uint32 LE || count × entry (64 bytes, 96 for a delta blob):
 *   type u8 | flags u8 | reserved u16 | offset u32 LE | length u32 LE | rawLength u32 LE
 *   | blobId (32) | dekId (16) [| deltaBase (32) when flags bit 0 is set]
 *
 * The trailer lets an index be rebuilt from packs alone (decision 4).
 */
export const PACK_MAGIC = Buffer.from('PBKPACK1', 'ascii');
export const PACK_HEADER_BYTES = PACK_MAGIC.length;
export const PACK_ENTRY_BYTES = 64;
/** An entry of a delta blob carries its base's id after the fixed part. */
export const PACK_DELTA_ENTRY_BYTES = PACK_ENTRY_BYTES + 32;
const FLAG_DELTA = 0x01;
export const TRAILER_AAD = Buffer.from('pbk-pack-trailer-v1', 'ascii');
/** Offsets and lengths are uint32: a pack stays far below 4 GiB (target tens of MiB). */
export const MAX_PACK_BYTES = 0xffff_ffff;

export type BlobType = 'data' | 'tree';
const TYPE_CODES: Record<BlobType, number> = { data: 0, tree: 1 };
const TYPE_NAMES: BlobType[] = ['data', 'tree'];

export interface PackEntry {
  type: BlobType;
  id: Buffer;
  dekId: Buffer;
  /** Byte offset of the sealed blob inside the pack file. */
  offset: number;
  /** Length of the sealed blob (nonce, ciphertext and tag). */
  length: number;
  /** Length of the plaintext chunk before compression. */
  rawLength: number;
  /**
   * Set when the blob is stored as a delta: its payload is a zstd frame that
   * needs this (non-delta data) blob's plaintext as dictionary.
   */
  deltaBase?: Buffer;
}

export function entryBytes(e: PackEntry): number {
  return e.deltaBase ? PACK_DELTA_ENTRY_BYTES : PACK_ENTRY_BYTES;
}

export class PackFormatError extends Error {}

/** Byte length of encodeEntries(entries). */
export function entriesBytes(entries: readonly PackEntry[]): number {
  let n = 4;
  for (const e of entries) n += entryBytes(e);
  return n;
}

export function encodeEntries(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(entriesBytes(entries));
  out.writeUInt32LE(entries.length, 0);
  let p = 4;
  for (const e of entries) p = writeEntry(out, p, e);
  return out;
}

/** Writes one entry at `p`; returns the offset after it. */
export function writeEntry(out: Buffer, p: number, e: PackEntry): number {
  if (e.id.length !== 32 || e.dekId.length !== 16) throw new PackFormatError('blob id must be 32 bytes and DEK id 16 bytes');
  if (e.deltaBase && (e.deltaBase.length !== 32 || e.type !== 'data')) throw new PackFormatError('a delta blob is a data blob with a 32-byte base id');
  out.writeUInt8(TYPE_CODES[e.type], p);
  out.writeUInt8(e.deltaBase ? FLAG_DELTA : 0, p + 1);
  out.writeUInt16LE(0, p + 2);
  out.writeUInt32LE(e.offset, p + 4);
  out.writeUInt32LE(e.length, p + 8);
  out.writeUInt32LE(e.rawLength, p + 12);
  e.id.copy(out, p + 16);
  e.dekId.copy(out, p + 48);
  if (!e.deltaBase) return p + PACK_ENTRY_BYTES;
  e.deltaBase.copy(out, p + PACK_ENTRY_BYTES);
  return p + PACK_DELTA_ENTRY_BYTES;
}

/** Reads the entry at `p`; `end` bounds it (the entry list's end). */
export function readEntry(buf: Buffer, p: number, end = buf.length): { entry: PackEntry; next: number } {
  if (p + PACK_ENTRY_BYTES > end) throw new PackFormatError(`entry at offset ${p} runs past the entry list`);
  const type = TYPE_NAMES[buf.readUInt8(p)];
  if (type === undefined) throw new PackFormatError(`unknown blob type ${buf.readUInt8(p)} at entry offset ${p}`);
  const flags = buf.readUInt8(p + 1);
  if ((flags & ~FLAG_DELTA) !== 0) throw new PackFormatError(`unknown entry flags ${flags} at entry offset ${p}`);
  const entry: PackEntry = {
    type,
    offset: buf.readUInt32LE(p + 4),
    length: buf.readUInt32LE(p + 8),
    rawLength: buf.readUInt32LE(p + 12),
    id: Buffer.from(buf.subarray(p + 16, p + 48)),
    dekId: Buffer.from(buf.subarray(p + 48, p + 64)),
  };
  if (!(flags & FLAG_DELTA)) return { entry, next: p + PACK_ENTRY_BYTES };
  if (type !== 'data') throw new PackFormatError(`a ${type} blob marked as a delta at entry offset ${p}`);
  if (p + PACK_DELTA_ENTRY_BYTES > end) throw new PackFormatError(`delta entry at offset ${p} runs past the entry list`);
  entry.deltaBase = Buffer.from(buf.subarray(p + PACK_ENTRY_BYTES, p + PACK_DELTA_ENTRY_BYTES));
  return { entry, next: p + PACK_DELTA_ENTRY_BYTES };
}

/**
 * Decodes `count || entries` starting at `start`; returns the entries and the
 * offset after the last one. With `exact`, the list must end at buf.length.
 */
export function decodeEntriesAt(buf: Buffer, start: number, exact: boolean): { entries: PackEntry[]; next: number } {
  if (buf.length < start + 4) throw new PackFormatError('entry list shorter than its count');
  const count = buf.readUInt32LE(start);
  // Every entry takes at least 64 bytes: a count the bytes cannot hold is rejected before any allocation.
  if (count > (buf.length - start - 4) / PACK_ENTRY_BYTES) {
    throw new PackFormatError(`entry list of ${buf.length - start} bytes does not hold ${count} entries`);
  }
  const entries: PackEntry[] = [];
  let p = start + 4;
  for (let i = 0; i < count; i++) {
    const { entry, next } = readEntry(buf, p);
    entries.push(entry);
    p = next;
  }
  if (exact && p !== buf.length) throw new PackFormatError(`entry list of ${buf.length} bytes does not hold ${count} entries`);
  return { entries, next: p };
}

export function decodeEntries(buf: Buffer): PackEntry[] {
  return decodeEntriesAt(buf, 0, true).entries;
}

/** Checks that entries tile the blob area of a pack of `packLength` bytes without overlap. */
export function checkEntryBounds(entries: readonly PackEntry[], blobAreaEnd: number): string | undefined {
  let expected = PACK_HEADER_BYTES;
  for (const e of [...entries].sort((a, b) => a.offset - b.offset)) {
    if (e.offset !== expected) return `blob ${e.id.toString('hex')} starts at ${e.offset}, expected ${expected}`;
    expected = e.offset + e.length;
  }
  if (expected !== blobAreaEnd) return `blobs end at ${expected} but the trailer starts at ${blobAreaEnd}`;
  return undefined;
}
