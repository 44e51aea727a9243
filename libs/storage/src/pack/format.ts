/**
 * Pack file layout (docs/repository-format.md, "Pack files"):
 *
 *   header   "PBKPACK1" (8 bytes)
 *   blob_1 .. blob_n     each a sealed blob: nonce(12) || ciphertext || tag(16)
 *   trailer  seal(metaKey, trailerPlaintext, AAD "pbk-pack-trailer-v1")
 *   trailerLength        uint32 little-endian: byte length of the sealed trailer
 *
 * trailerPlaintext = count uint32 LE || count × entry (64 bytes each):
 *   type u8 | reserved u8 | reserved u16 | offset u32 LE | length u32 LE | rawLength u32 LE
 *   | blobId (32) | dekId (16)
 *
 * The trailer lets an index be rebuilt from packs alone (decision 4).
 */
export const PACK_MAGIC = Buffer.from('PBKPACK1', 'ascii');
export const PACK_HEADER_BYTES = PACK_MAGIC.length;
export const PACK_ENTRY_BYTES = 64;
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
}

export class PackFormatError extends Error {}

export function encodeEntries(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(4 + entries.length * PACK_ENTRY_BYTES);
  out.writeUInt32LE(entries.length, 0);
  let p = 4;
  for (const e of entries) {
    writeEntry(out, p, e);
    p += PACK_ENTRY_BYTES;
  }
  return out;
}

export function writeEntry(out: Buffer, p: number, e: PackEntry): void {
  if (e.id.length !== 32 || e.dekId.length !== 16) throw new PackFormatError('blob id must be 32 bytes and DEK id 16 bytes');
  out.writeUInt8(TYPE_CODES[e.type], p);
  out.writeUInt8(0, p + 1);
  out.writeUInt16LE(0, p + 2);
  out.writeUInt32LE(e.offset, p + 4);
  out.writeUInt32LE(e.length, p + 8);
  out.writeUInt32LE(e.rawLength, p + 12);
  e.id.copy(out, p + 16);
  e.dekId.copy(out, p + 48);
}

export function readEntry(buf: Buffer, p: number): PackEntry {
  const type = TYPE_NAMES[buf.readUInt8(p)];
  if (type === undefined) throw new PackFormatError(`unknown blob type ${buf.readUInt8(p)} at entry offset ${p}`);
  return {
    type,
    offset: buf.readUInt32LE(p + 4),
    length: buf.readUInt32LE(p + 8),
    rawLength: buf.readUInt32LE(p + 12),
    id: Buffer.from(buf.subarray(p + 16, p + 48)),
    dekId: Buffer.from(buf.subarray(p + 48, p + 64)),
  };
}

export function decodeEntries(buf: Buffer): PackEntry[] {
  if (buf.length < 4) throw new PackFormatError('entry list shorter than its count');
  const count = buf.readUInt32LE(0);
  if (buf.length !== 4 + count * PACK_ENTRY_BYTES) {
    throw new PackFormatError(`entry list of ${buf.length} bytes does not hold ${count} entries`);
  }
  const entries: PackEntry[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(buf, 4 + i * PACK_ENTRY_BYTES));
  return entries;
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
