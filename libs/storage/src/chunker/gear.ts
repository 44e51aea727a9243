import { createHash, createHmac } from 'node:crypto';

/**
 * Gear table and cut masks. These bytes decide where every chunk boundary
 * falls, so they are part of the repository format: changing anything here
 * changes chunk ids and breaks deduplication against existing snapshots.
 *
 * Gear table derivation (docs/repository-format.md, "Chunking"):
 *
 *   for k = 0, 1, ..., 31:
 *     block_k = SHA-256( ASCII "pbk-gear-v1" || uint32_be(k) )   when no gear seed is given
 *     block_k = HMAC-SHA-256( key = gearSeed, msg = uint32_be(k) )  when one is
 *     for j = 0, 1, ..., 7:
 *       G[8k + j] = uint32_be( block_k[4j .. 4j+3] )
 *
 * "pbk-gear-v1" is the 11 ASCII bytes without a terminator; uint32_be(k) is
 * the counter as 4 big-endian bytes. 32 blocks x 8 words = 256 entries. The
 * repository's gear seed is a 32-byte secret kept with the master keys: a
 * secret table keeps chunk boundaries (and thus chunk sizes, which the
 * storage side sees) from fingerprinting known content, as restic's
 * per-repository polynomial does.
 */
export const GEAR_SEED_LABEL = 'pbk-gear-v1';

export function gearTable(gearSeed?: Uint8Array): Uint32Array {
  const table = new Uint32Array(256);
  const counter = Buffer.alloc(4);
  for (let k = 0; k < 32; k++) {
    counter.writeUInt32BE(k, 0);
    const block = gearSeed === undefined
      ? createHash('sha256').update(GEAR_SEED_LABEL, 'ascii').update(counter).digest()
      : createHmac('sha256', gearSeed).update(counter).digest();
    for (let j = 0; j < 8; j++) table[8 * k + j] = block.readUInt32BE(4 * j);
  }
  return table;
}

/**
 * The cut mask with `bits` one-bits (1..32); a position is a candidate cut when
 * (h & mask) === 0, which random data meets with probability 2^-bits.
 *
 * With h = (h << 1) + G[b] over 32 bits, bit i of h depends only on the last
 * i + 1 bytes, so low bits see almost no history (bit 0 is a function of the
 * last byte alone) and skew cut rates on low-entropy data such as text. As in
 * FastCDC we spread the one-bits instead of taking the low ones: bit 31 is
 * always set (the test covers a 32-byte window) and the rest are spread evenly
 * over bits 8..31, so every tested bit sees at least 9 bytes. Measured on 48 MB
 * of JavaScript and 36 MB of ELF binaries (2K/8K/64K and 16K/64K/512K), low-bit
 * masks made the mean chunk 1.2-1.5x the random-data mean and hit maxSize;
 * these stayed within 1.13x, as top-bit and FastCDC-style spreads did.
 *
 *   bits <= 24:  mask = OR over j in [0, bits) of 1 << (31 - floor(24 * j / bits))
 *   bits >= 24:  mask = the top `bits` bits, bits (32 - bits)..31 (no room to spread)
 *
 * (both give 0xffffff00 at 24 bits). Examples: 11 -> 0xaaa55400, 13 -> 0xd55aaa00,
 * 15 -> 0xdadada00, 18 -> 0xeeeeee00, 22 -> 0xffeffe00, 25 -> 0xffffff80.
 */
export function cutMask(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new RangeError(`mask bits must be 1..32, got ${bits}`);
  if (bits >= 24) return (0xffffffff << (32 - bits)) >>> 0;
  let mask = 0;
  for (let j = 0; j < bits; j++) mask |= 1 << (31 - Math.floor((24 * j) / bits));
  return mask >>> 0;
}
