// SharedRing (reused shared memory for received blobs) and BlobAssembler
// lending it out: no two live leases overlap, space comes back in order,
// every path that drops a blob gives its memory back.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobAssembler, BlobMessageBatcher, type BlobMemory, type WireBlob } from '../src/blobs.js';
import type { BlobPart__Output } from '../src/generated/pbk/v1/BlobPart.js';
import { SharedRing } from '../src/shared-ring.js';

const offsetOf = (m: BlobMemory): number => m.bytes.byteOffset;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SharedRing', () => {
  it('lends views of one SharedArrayBuffer and takes space back only once every older lease is released', () => {
    const ring = new SharedRing(100);
    const a = ring.allocate(40)!;
    const b = ring.allocate(40)!;
    expect(a.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.bytes.buffer).toBe(a.bytes.buffer);
    expect([offsetOf(a), offsetOf(b)]).toEqual([0, 40]);
    expect(ring.allocate(30)).toBeUndefined(); // 20 left at the end, nothing free at the start
    b.release();
    expect(ring.inUse).toBe(40);
    expect(ring.allocate(30)).toBeUndefined(); // b's space is behind a, still live
    a.release();
    a.release(); // twice is harmless
    expect([ring.inUse, ring.leases]).toEqual([0, 0]);
    const c = ring.allocate(100)!;
    expect(offsetOf(c)).toBe(0);
  });

  it('wraps to the start when the end has no room, and never lends more than it has', () => {
    const ring = new SharedRing(100);
    const a = ring.allocate(30)!;
    const b = ring.allocate(50)!;
    a.release();
    const c = ring.allocate(25)!; // 20 left at the end: wraps into a's old space
    expect(offsetOf(c)).toBe(0);
    expect(ring.allocate(6)).toBeUndefined(); // 5 left between c and b
    const d = ring.allocate(5)!;
    expect(offsetOf(d)).toBe(25);
    expect([ring.allocate(0), ring.allocate(101), ring.allocate(-1)]).toEqual([undefined, undefined, undefined]);
    for (const m of [b, c, d]) m.release();
    expect(ring.inUse).toBe(0);
  });

  it('drops its memory once idle, and takes new memory at the next lease', async () => {
    const ring = new SharedRing(1000, 30);
    expect(ring.holdsMemory).toBe(false);
    const a = ring.allocate(100)!;
    a.release();
    expect(ring.holdsMemory).toBe(true);
    // A lease taken before the idle time is up keeps the memory.
    await sleep(15);
    const b = ring.allocate(100)!;
    await sleep(40);
    expect(ring.holdsMemory).toBe(true);
    b.release();
    await sleep(80);
    expect(ring.holdsMemory).toBe(false);
    const c = ring.allocate(100)!;
    expect(ring.holdsMemory).toBe(true);
    expect(c.bytes.buffer).not.toBe(a.bytes.buffer);
    c.release();
  });

  it('keeps live leases apart under random sizes and release orders', () => {
    const ring = new SharedRing(1 << 16);
    const live: { lease: BlobMemory; fill: number }[] = [];
    let lent = 0;
    for (let step = 0; step < 5000; step++) {
      if (live.length > 0 && (Math.random() < 0.45 || live.length > 40)) {
        // Release a random one (mostly old ones, as checks finish roughly in order).
        const i = Math.random() < 0.7 ? 0 : Math.floor(Math.random() * live.length);
        const [{ lease, fill }] = live.splice(i, 1) as [{ lease: BlobMemory; fill: number }];
        // Nobody else wrote into it while it was lent.
        expect(lease.bytes.every((x) => x === fill)).toBe(true);
        lease.release();
        continue;
      }
      const lease = ring.allocate(1 + Math.floor(Math.random() * 8000));
      if (lease === undefined) continue;
      lent++;
      const fill = step & 0xff;
      lease.bytes.fill(fill);
      live.push({ lease, fill });
    }
    expect(lent).toBeGreaterThan(1000);
    for (const { lease } of live) lease.release();
    expect([ring.inUse, ring.leases]).toEqual([0, 0]);
  });
});

function blob(size: number): WireBlob {
  return { id: randomBytes(32), type: 'BLOB_TYPE_DATA', dekId: Buffer.alloc(16, 1), rawLength: size * 2, sealed: randomBytes(size) };
}

/** Parts as protobuf decodes them: every field a view into one message buffer. */
function asDecoded(blobs: WireBlob[], maxBytes = 64 * 1024): BlobPart__Output[] {
  const batcher = new BlobMessageBatcher(maxBytes);
  const parts = [...blobs.flatMap((b) => batcher.push(b)).flat(), ...(batcher.flush() ?? [])];
  const message = Buffer.alloc(parts.reduce((n, p) => n + p.id.length + p.dekId.length + p.data.length, 0));
  let at = 0;
  const view = (b: Uint8Array): Buffer => {
    message.set(b, at);
    at += b.length;
    return message.subarray(at - b.length, at);
  };
  return parts.map((p) => ({ ...p, id: view(p.id), dekId: view(p.dekId), data: view(p.data as Buffer), deltaBase: Buffer.alloc(0) }) as unknown as BlobPart__Output);
}

describe('BlobAssembler with an allocator', () => {
  it('puts whole and multi-part blobs into lent memory, and release gives it back', () => {
    const ring = new SharedRing(1 << 20);
    const sent = [blob(1000), blob(200_000), blob(3000)];
    const out = new BlobAssembler((n) => ring.allocate(n)).push(asDecoded(sent));
    expect(out.map((b) => b.sealed.equals(sent[out.indexOf(b)]!.sealed))).toEqual([true, true, true]);
    for (const b of out) expect(b.sealed.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ring.inUse).toBe(204_000);
    for (const b of out) b.release!();
    expect(ring.inUse).toBe(0);
  });

  it('falls back to memory of its own when the allocator has no room', () => {
    const ring = new SharedRing(2000);
    const out = new BlobAssembler((n) => ring.allocate(n)).push(asDecoded([blob(1500), blob(1500)]));
    expect(out[0]!.release).toBeDefined();
    expect(out[1]!.release).toBeUndefined();
    expect(out[1]!.sealed.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    out[0]!.release!();
    expect(ring.inUse).toBe(0);
  });

  it('gives back the memory of blobs nobody will see when a bad part ends the stream', () => {
    const ring = new SharedRing(1 << 20);
    const a = new BlobAssembler((n) => ring.allocate(n));
    const parts = asDecoded([blob(1000), blob(200_000)]);
    // The second blob's last part claims a different length: a framing error after blob 1 is complete.
    const last = parts[parts.length - 1]!;
    parts[parts.length - 1] = { ...last, sealedLength: last.sealedLength + 1 };
    expect(() => a.push(parts)).toThrow(/bad blob framing/);
    expect(ring.inUse).toBe(0);
  });

  it('gives back a blob cut off by the end of the stream', () => {
    const ring = new SharedRing(1 << 20);
    const a = new BlobAssembler((n) => ring.allocate(n));
    const parts = asDecoded([blob(200_000)]);
    expect(a.push(parts.slice(0, 1))).toEqual([]);
    expect(ring.inUse).toBe(200_000);
    expect(() => a.finish()).toThrow(/ended inside blob/);
    expect(ring.inUse).toBe(0);
    // abort() on a failed stream does the same for a blob in progress.
    expect(a.push(parts.slice(0, 1))).toEqual([]);
    a.abort();
    expect(ring.inUse).toBe(0);
  });
});
