import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobAssembler, BlobMessageBatcher, type WireBlob } from '../src/blobs.js';
import type { BlobPart__Output } from '../src/generated/pbk/v1/BlobPart.js';
import { MAX_SEALED_BLOB_BYTES } from '../src/limits.js';

function blob(size: number, fill = size & 0xff): WireBlob {
  return { id: randomBytes(32), type: 'BLOB_TYPE_DATA', dekId: Buffer.alloc(16, 1), rawLength: size * 2, sealed: Buffer.alloc(size, fill) };
}

/** What the receiver sees: the decoded form, with defaults filled in. */
function decoded(parts: object[]): BlobPart__Output[] {
  return parts as BlobPart__Output[];
}

function frame(blobs: WireBlob[], maxBytes = 64 * 1024): BlobPart__Output[][] {
  const b = new BlobMessageBatcher(maxBytes);
  const messages = blobs.flatMap((x) => b.push(x));
  const last = b.flush();
  if (last) messages.push(last);
  return messages.map(decoded);
}

describe('BlobMessageBatcher + BlobAssembler', () => {
  it('round-trips small, exact and large blobs, keeping messages under budget', () => {
    const max = 64 * 1024;
    const blobs = [blob(1), blob(100), blob(max), blob(5 * max + 17), blob(3000), blob(max - 200)];
    const messages = frame(blobs, max);
    for (const m of messages) expect(m.reduce((n, p) => n + p.data.length + 64 + 48, 0)).toBeLessThanOrEqual(max);
    const a = new BlobAssembler();
    const out = messages.flatMap((m) => a.push(m));
    a.finish();
    expect(out.map((x) => x.id.toString('hex'))).toEqual(blobs.map((x) => x.id.toString('hex')));
    for (const [i, x] of out.entries()) {
      expect(x.sealed.equals(blobs[i]?.sealed ?? Buffer.alloc(0))).toBe(true);
      expect([x.rawLength, x.type, x.dekId]).toEqual([blobs[i]?.rawLength, 'BLOB_TYPE_DATA', blobs[i]?.dekId]);
    }
  });

  it('hands out blobs whose id, DEK id and bytes share no buffer with the message they came in', () => {
    // As protobuf decodes them: every field a view into one message buffer.
    const message = Buffer.alloc(256 * 1024);
    let at = 0;
    const view = (b: Buffer): Buffer => {
      b.copy(message, at);
      at += b.length;
      return message.subarray(at - b.length, at);
    };
    const sent = [blob(1000), blob(3000)];
    const parts = frame(sent).flat().map((p) => ({ ...p, id: view(p.id), dekId: view(p.dekId), data: view(p.data) }));
    const out = new BlobAssembler().push(parts);
    expect(out.map((x) => x.id.toString('hex'))).toEqual(sent.map((x) => x.id.toString('hex')));
    for (const x of out) for (const field of [x.id, x.dekId, x.sealed]) expect(field.buffer).not.toBe(message.buffer);
  });

  it('puts many small blobs into one message', () => {
    expect(frame(Array.from({ length: 50 }, () => blob(500)))).toHaveLength(1);
  });

  it('refuses to send a blob over the limit', () => {
    expect(() => new BlobMessageBatcher().push(blob(MAX_SEALED_BLOB_BYTES + 1))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  const big = (): BlobPart__Output[] => frame([blob(200_000)], 64 * 1024).flat();

  it.each<[string, (parts: BlobPart__Output[]) => BlobPart__Output[]]>([
    ['a gap', (p) => [p[0]!, p[2]!]],
    ['a repeated part', (p) => [p[0]!, p[0]!]],
    ['a blob not starting at 0', (p) => [p[1]!]],
    ['interleaved blobs', (p) => [p[0]!, { ...p[1]!, id: randomBytes(32) }]],
    ['a changed DEK mid-blob', (p) => [p[0]!, { ...p[1]!, dekId: Buffer.alloc(16, 2) }]],
    ['a changed length mid-blob', (p) => [p[0]!, { ...p[1]!, sealedLength: p[1]!.sealedLength + 1 }]],
    ['a part overrunning the blob', (p) => [p[0]!, { ...p[1]!, data: Buffer.alloc(300_000) }]],
    ['an empty part', (p) => [p[0]!, { ...p[1]!, data: Buffer.alloc(0) }]],
    ['a declared size over the limit', (p) => [{ ...p[0]!, sealedLength: MAX_SEALED_BLOB_BYTES + 1 }]],
    ['an unknown type', (p) => [{ ...p[0]!, type: 'BLOB_TYPE_UNSPECIFIED' }]],
    ['a missing DEK id', (p) => [{ ...p[0]!, dekId: Buffer.alloc(0) }]],
  ])('rejects %s', (_name, mangle) => {
    const a = new BlobAssembler();
    expect(() => a.push(mangle(big()))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects a stream that ends inside a blob', () => {
    const a = new BlobAssembler();
    expect(a.push(big().slice(0, 2))).toEqual([]);
    expect(() => a.finish()).toThrow(/ended inside blob/);
  });
});
