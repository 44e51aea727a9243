import { open, IntegrityError } from '@pbk/crypto';
import type { Backend } from '../backend/backend.js';
import { PackCorruptError } from '../errors.js';
import { checkEntryBounds, decodeEntries, PackFormatError, PACK_HEADER_BYTES, PACK_MAGIC, TRAILER_AAD, type PackEntry } from './format.js';
import { packName } from './names.js';

/** Most trailers (64 bytes per blob) fit in one ranged read of this size. */
const TAIL_READ_BYTES = 64 * 1024;

/** Decodes the trailer of a pack held in memory (verify, repack, tests). */
export function entriesFromPackBytes(packId: string, pack: Buffer, metaKey: Buffer): PackEntry[] {
  return parseTail(packId, pack, pack.length, metaKey);
}

/** Reads a pack's blob list from its trailer with ranged reads (index rebuild). */
export async function readPackEntries(backend: Backend, packId: string, metaKey: Buffer): Promise<PackEntry[]> {
  const name = packName(packId);
  const { size } = await backend.stat(name);
  if (size < PACK_HEADER_BYTES + 4) throw new PackCorruptError(packId, undefined, `pack is only ${size} bytes long`);
  const start = Math.max(0, size - TAIL_READ_BYTES);
  let tail = await backend.get(name, { offset: start, length: size - start });
  const trailerLength = tail.readUInt32LE(tail.length - 4);
  const needed = trailerLength + 4;
  if (needed > size - PACK_HEADER_BYTES) throw new PackCorruptError(packId, size - 4, `trailer length ${trailerLength} exceeds the pack`);
  if (needed > tail.length) tail = await backend.get(name, { offset: size - needed, length: needed });
  // A small pack was read whole by the tail read (parseTail checks its magic); only a larger one costs a header read.
  if (tail.length < size) {
    const head = await backend.get(name, { offset: 0, length: PACK_HEADER_BYTES });
    if (!head.equals(PACK_MAGIC)) throw new PackCorruptError(packId, 0, 'header magic is not PBKPACK1');
  }
  return parseTail(packId, tail, size, metaKey);
}

/** `tail` holds the last bytes of a pack of `packLength` bytes (or the whole pack). */
function parseTail(packId: string, tail: Buffer, packLength: number, metaKey: Buffer): PackEntry[] {
  if (tail.length < 4 || packLength < PACK_HEADER_BYTES + 4) throw new PackCorruptError(packId, undefined, 'pack too short for a trailer');
  if (tail.length === packLength && !tail.subarray(0, PACK_HEADER_BYTES).equals(PACK_MAGIC)) {
    throw new PackCorruptError(packId, 0, 'header magic is not PBKPACK1');
  }
  const trailerLength = tail.readUInt32LE(tail.length - 4);
  const trailerStart = packLength - 4 - trailerLength;
  if (trailerStart < PACK_HEADER_BYTES || trailerLength + 4 > tail.length) {
    throw new PackCorruptError(packId, packLength - 4, `trailer length ${trailerLength} does not fit the pack`);
  }
  const sealed = tail.subarray(tail.length - 4 - trailerLength, tail.length - 4);
  let entries: PackEntry[];
  try {
    entries = decodeEntries(open(metaKey, sealed, TRAILER_AAD, `trailer of pack ${packId}`));
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof PackFormatError) {
      throw new PackCorruptError(packId, trailerStart, `trailer does not decrypt or decode (${err.message})`, { cause: err });
    }
    throw err;
  }
  const bad = checkEntryBounds(entries, trailerStart);
  if (bad) throw new PackCorruptError(packId, trailerStart, bad);
  return entries;
}
