import { decodeEntriesAt, encodeEntries, type PackEntry } from '../pack/format.js';

/**
 * Plaintext of an index object (docs/repository-format.md, "Index objects"):
 *   version u8 (=1)
 *   supersededCount u32 LE, supersededCount × 32-byte index ids this one replaces
 *   packCount u32 LE, then per pack: packId (32 bytes) || entry list as in a pack trailer
 */
export const INDEX_VERSION = 1;

export interface IndexFile {
  supersedes: string[];
  packs: { packId: string; entries: PackEntry[] }[];
}

export class IndexFormatError extends Error {}

export function encodeIndexFile(file: IndexFile): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(5);
  head.writeUInt8(INDEX_VERSION, 0);
  head.writeUInt32LE(file.supersedes.length, 1);
  parts.push(head, ...file.supersedes.map((id) => Buffer.from(id, 'hex')));
  const count = Buffer.alloc(4);
  count.writeUInt32LE(file.packs.length, 0);
  parts.push(count);
  for (const p of file.packs) parts.push(Buffer.from(p.packId, 'hex'), encodeEntries(p.entries));
  return Buffer.concat(parts);
}

export function decodeIndexFile(buf: Buffer): IndexFile {
  let p = 0;
  const need = (n: number) => {
    if (p + n > buf.length) throw new IndexFormatError(`index ends at byte ${buf.length}, needed ${p + n}`);
  };
  need(5);
  const version = buf.readUInt8(0);
  if (version !== INDEX_VERSION) throw new IndexFormatError(`unsupported index version ${version}`);
  const nSup = buf.readUInt32LE(1);
  p = 5;
  need(nSup * 32);
  const supersedes: string[] = [];
  for (let i = 0; i < nSup; i++, p += 32) supersedes.push(buf.subarray(p, p + 32).toString('hex'));
  need(4);
  const nPacks = buf.readUInt32LE(p);
  p += 4;
  const packs: IndexFile['packs'] = [];
  for (let i = 0; i < nPacks; i++) {
    need(36);
    const packId = buf.subarray(p, p + 32).toString('hex');
    let decoded: { entries: PackEntry[]; next: number };
    try {
      decoded = decodeEntriesAt(buf, p + 32, false);
    } catch (err) {
      throw new IndexFormatError(`pack ${packId}: ${(err as Error).message}`);
    }
    packs.push({ packId, entries: decoded.entries });
    p = decoded.next;
  }
  if (p !== buf.length) throw new IndexFormatError(`${buf.length - p} trailing bytes after the last pack`);
  return { supersedes, packs };
}
