// PackBuilder with reused memory (PackBuffers) lays out the same pack as with
// the blobs' own buffers, copies each blob as it is added, and gives its
// memory back only when told the pack is written.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entriesFromPackBytes, PACK_HEADER_BYTES, PACK_MAGIC, PackBuffers, PackBuilder, type SealedBlob } from '../src/pack/index.js';

const metaKey = randomBytes(32);
const blob = (size: number, type: SealedBlob['type'] = 'data'): SealedBlob => ({
  type,
  id: randomBytes(32),
  dekId: randomBytes(16),
  sealed: randomBytes(size),
  rawLength: size * 2,
});
const bytesOf = (parts: Buffer[]): Buffer => Buffer.concat(parts);

describe('PackBuilder with PackBuffers', () => {
  it('writes the same blobs at the same offsets as without, and the id hashes the whole pack', () => {
    const blobs = [blob(1000), blob(70_000, 'tree'), blob(1), blob(300_000), { ...blob(5000), deltaBase: randomBytes(32) }];
    const plain = new PackBuilder();
    const pooled = new PackBuilder(new PackBuffers(64 * 1024, 2));
    for (const b of blobs) {
      plain.add(b);
      pooled.add(b);
    }
    expect(pooled.size).toBe(plain.size);
    const a = plain.finish(metaKey);
    const b = pooled.finish(metaKey);
    expect(b.parts).toHaveLength(1);
    const bytes = bytesOf(b.parts);
    expect(bytes.length).toBe(b.length);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(b.id);
    expect(bytes.subarray(0, PACK_HEADER_BYTES)).toEqual(PACK_MAGIC);
    // The blob area is byte for byte the same; only the trailer's nonce differs.
    const area = pooled.size;
    expect(bytes.subarray(0, area)).toEqual(bytesOf(a.parts).subarray(0, area));
    const entries = entriesFromPackBytes(b.id, bytes, metaKey);
    expect(entries).toEqual(a.entries);
    for (const [i, e] of entries.entries()) expect(bytes.subarray(e.offset, e.offset + e.length)).toEqual(blobs[i]!.sealed);
  });

  it("copies each blob as it is added: the caller's buffer can be reused at once", () => {
    const pooled = new PackBuilder(new PackBuffers(1 << 20, 1));
    const b = blob(4096);
    const original = Buffer.from(b.sealed);
    pooled.add(b);
    b.sealed.fill(0);
    const pack = pooled.finish(metaKey);
    const bytes = bytesOf(pack.parts);
    const [entry] = entriesFromPackBytes(pack.id, bytes, metaKey);
    expect(bytes.subarray(entry!.offset, entry!.offset + entry!.length)).toEqual(original);
  });

  it('reuses a released buffer for the next pack, and never one still being written', () => {
    const buffers = new PackBuffers(1 << 20, 2);
    const first = new PackBuilder(buffers);
    first.add(blob(10_000));
    const p1 = first.finish(metaKey);
    const memory1 = p1.parts[0]!.buffer;
    // Not released yet: the next pack gets other memory.
    const second = new PackBuilder(buffers);
    second.add(blob(10_000));
    const p2 = second.finish(metaKey);
    expect(p2.parts[0]!.buffer).not.toBe(memory1);
    p1.release();
    p1.release(); // twice is harmless: given back once
    expect(buffers.kept).toBe(1);
    const third = new PackBuilder(buffers);
    third.add(blob(10_000));
    expect(third.finish(metaKey).parts[0]!.buffer).toBe(memory1);
    expect(buffers.kept).toBe(0);
  });

  it('grows past its capacity for a blob larger than the room left, and keeps only `keep` buffers', () => {
    const buffers = new PackBuffers(16 * 1024, 1);
    const builder = new PackBuilder(buffers);
    const small = blob(10_000);
    const large = blob(100_000);
    builder.add(small);
    builder.add(large);
    const pack = builder.finish(metaKey);
    const bytes = bytesOf(pack.parts);
    const entries = entriesFromPackBytes(pack.id, bytes, metaKey);
    expect(bytes.subarray(entries[1]!.offset, entries[1]!.offset + entries[1]!.length)).toEqual(large.sealed);
    // The outgrown buffer went back; the grown one (over twice the capacity) is left to the collector.
    expect(buffers.kept).toBe(1);
    pack.release();
    expect(buffers.kept).toBe(1);
  });

  it('discard gives an unfinished pack its memory back', () => {
    const buffers = new PackBuffers(1 << 20, 2);
    const builder = new PackBuilder(buffers);
    builder.add(blob(1000));
    expect(buffers.kept).toBe(0);
    builder.discard();
    expect(buffers.kept).toBe(1);
  });

  it('drops kept buffers once no pack came for idleMs', async () => {
    const buffers = new PackBuffers(1 << 16, 2, 30);
    const builder = new PackBuilder(buffers);
    builder.add(blob(1000));
    builder.finish(metaKey).release();
    expect(buffers.kept).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(buffers.kept).toBe(0);
  });
});
