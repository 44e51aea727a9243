/** Small helpers shared by the crypto tests. */

/** A copy of `buf` with one bit flipped at `offset` (tamper tests). */
export function flip(buf: Buffer, offset: number): Buffer {
  const copy = Buffer.from(buf);
  copy[offset] = (copy[offset] ?? 0) ^ 0x01;
  return copy;
}

/** The error `fn` throws; fails the test if it does not throw. */
export function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
