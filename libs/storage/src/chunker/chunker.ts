import { StorageError } from '../errors.js';
import { compileChunkerOptions, type ChunkerOptions, type CompiledChunkerOptions } from './options.js';

/**
 * Content-defined chunking, FastCDC style (Xia et al., USENIX ATC 2016) with
 * normalized chunking level 2. With L the length of the current chunk so far
 * and h the gear hash after its L-th byte:
 *
 *   h = ((h << 1) + G[byte]) mod 2^32   (G: gear.ts; depends on the last 32 bytes only)
 *   L <  minSize           no cut; hashing starts at L = minSize - 31, so the
 *                          first tested h covers a full 32-byte window
 *   minSize <= L < avgSize  cut after this byte if (h & maskS) == 0
 *   avgSize <= L < maxSize  cut after this byte if (h & maskL) == 0
 *   L == maxSize           cut
 *
 * maskS = cutMask(log2(avgSize) + 2), maskL = cutMask(log2(avgSize) - 2).
 * Since h depends on nothing before the 32-byte window, a cut decision depends
 * only on those bytes and on L: the warm-up makes boundaries independent of
 * where the chunk began, so they resynchronize quickly after an edit.
 */
const HASH_WINDOW = 32;

/** Pushed pieces shorter than this are copied rather than kept as views (see Chunker.hold). */
const SMALL_PIECE = 4 * 1024;
const SPILL_BLOCK = 64 * 1024;

/** Mutable scan state shared by Chunker and cutPoints. */
interface ScanState {
  h: number;
}

/**
 * The hot loop reads the data four bytes at a time through a Uint32Array view,
 * which measured about twice as fast as indexing the Buffer byte by byte. The
 * byte order inside a word is the platform's, so big-endian hosts stay on the
 * byte loop.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const NO_WORDS = new Uint32Array(0);
/** Below this a word view costs more than it saves (1-byte pushes in tests). */
const MIN_WORD_VIEW_BYTES = 256;

/** A buffer with the word view of its 4-byte-aligned part, which starts at data index `wordBase`. */
interface ScanInput {
  readonly data: Buffer;
  readonly words: Uint32Array;
  readonly wordBase: number;
}

function scanInput(data: Buffer): ScanInput {
  if (!LITTLE_ENDIAN || data.length < MIN_WORD_VIEW_BYTES) return { data, words: NO_WORDS, wordBase: 0 };
  const wordBase = (4 - (data.byteOffset & 3)) & 3;
  const words = new Uint32Array(data.buffer, data.byteOffset + wordBase, (data.length - wordBase) >>> 2);
  return { data, words, wordBase };
}

/**
 * Hashes data[i..end) and returns the index just past the first byte after
 * which (h & mask) == 0, or -1 with the hash saved in `st`. No cut is taken
 * without a test, so callers bound `end` to the phase they are in.
 */
function findCut(input: ScanInput, gear: Int32Array, i: number, end: number, mask: number, st: ScanState): number {
  const data = input.data;
  let h = st.h | 0;
  const words = input.words;
  if (words.length > 0) {
    const wordBase = input.wordBase;
    // i - wordBase >= -3 here, so the & 3 test is exact for the few bytes before the first word.
    for (; i < end && ((i - wordBase) & 3) !== 0; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & mask) === 0) return i + 1;
    }
    // Every word read lies inside both data[..end) and the view (i + 3 < end <= data.length).
    // A hit breaks out with its byte number: returning i + k from inside the loop measured slower.
    const wordEnd = end - 3;
    let hit = 0;
    for (; i < wordEnd; i += 4) {
      const w = words[(i - wordBase) >>> 2]!;
      h = ((h << 1) + gear[w & 255]!) | 0;
      if ((h & mask) === 0) {
        hit = 1;
        break;
      }
      h = ((h << 1) + gear[(w >>> 8) & 255]!) | 0;
      if ((h & mask) === 0) {
        hit = 2;
        break;
      }
      h = ((h << 1) + gear[(w >>> 16) & 255]!) | 0;
      if ((h & mask) === 0) {
        hit = 3;
        break;
      }
      h = ((h << 1) + gear[w >>> 24]!) | 0;
      if ((h & mask) === 0) {
        hit = 4;
        break;
      }
    }
    if (hit !== 0) return i + hit;
  }
  for (; i < end; i++) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  st.h = h;
  return -1;
}

/**
 * Scans data[from..] where data[from] is byte `pos` of the current chunk.
 * Returns the data index just past the chunk's last byte, or -1 when data ends
 * first (the hash is then kept in `st` for the next piece).
 */
function scan(c: CompiledChunkerOptions, st: ScanState, input: ScanInput, from: number, pos: number): number {
  const data = input.data;
  const n = data.length;
  const gear = c.gear;
  const base = from - pos; // index of the chunk's first byte; negative when it began in an earlier piece
  let i = from;

  // Cut-point skipping: bytes before the warm-up window are never read.
  const warm = base + c.minSize - HASH_WINDOW;
  if (i < warm) {
    if (warm >= n) return -1;
    i = warm;
  }
  // Warm-up: 31 bytes hashed untested; whatever h held before is shifted out by the first test.
  let end = Math.min(base + c.minSize - 1, n);
  if (i < end) {
    let h = st.h | 0;
    for (; i < end; i++) h = ((h << 1) + gear[data[i]!]!) | 0;
    st.h = h;
  }

  end = Math.min(base + c.avgSize - 1, n);
  if (i < end) {
    const cut = findCut(input, gear, i, end, c.maskS, st);
    if (cut >= 0) return cut;
    i = end;
  }
  end = Math.min(base + c.maxSize - 1, n);
  if (i < end) {
    const cut = findCut(input, gear, i, end, c.maskL, st);
    if (cut >= 0) return cut;
    i = end;
  }
  return i < n ? i + 1 : -1; // byte maxSize - 1 is here: forced cut
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Cuts a byte stream into content-defined chunks, incrementally.
 *
 * Zero-copy: a chunk that lies within one pushed buffer is returned as a
 * subarray of it, and the unfinished tail is held as a view too. So the caller
 * must not reuse or modify a pushed buffer (e.g. as a read buffer for the next
 * fs read) while its chunks or the chunker still hold it: push a fresh buffer
 * each time. Only chunks that span pushes are concatenated into new memory.
 * A returned view keeps its whole pushed buffer alive until it is dropped.
 *
 * Cuts depend on the bytes only, never on how they were split across push().
 */
export class Chunker {
  private readonly c: CompiledChunkerOptions;
  private readonly st: ScanState = { h: 0 };
  /** Bytes of the current chunk from earlier pushes, in order; all of them scanned. */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Owned block that small pieces are copied into; spill[spillStart..spillEnd) is the last pending entry while spillOpen. */
  private spill: Buffer | undefined;
  private spillStart = 0;
  private spillEnd = 0;
  private spillOpen = false;

  constructor(options?: ChunkerOptions) {
    this.c = compileChunkerOptions(options);
  }

  /** Feed bytes; returns the chunks completed by them, in order. Holds the unfinished tail. */
  push(data: Uint8Array): Buffer[] {
    const buf = asBuffer(data);
    const out: Buffer[] = [];
    const n = buf.length;
    const input = scanInput(buf);
    let from = 0;
    while (from < n) {
      const cut = scan(this.c, this.st, input, from, this.pendingLen);
      if (cut < 0) {
        this.hold(buf.subarray(from));
        break;
      }
      out.push(this.pendingLen === 0 ? buf.subarray(from, cut) : this.takePending(buf.subarray(from, cut)));
      from = cut;
    }
    return out;
  }

  /**
   * End of stream: the last (possibly short) chunk, or undefined if no bytes
   * are pending. The chunker is then ready for a new stream.
   */
  finish(): Buffer | undefined {
    if (this.pendingLen === 0) return undefined;
    const pending = this.pending;
    const last = pending.length === 1 ? pending[0]! : Buffer.concat(pending, this.pendingLen);
    // The returned chunk may be a view of the spill block: never write to that block again.
    this.spill = undefined;
    this.reset();
    return last;
  }

  private reset(): void {
    this.pending = [];
    this.pendingLen = 0;
    this.st.h = 0;
    this.spillStart = 0;
    this.spillEnd = 0;
    this.spillOpen = false;
  }

  /** Completes the chunk: pending bytes plus `tail`, copied into one buffer. */
  private takePending(tail: Buffer): Buffer {
    this.pending.push(tail);
    const chunk = Buffer.concat(this.pending, this.pendingLen + tail.length);
    // The copy no longer refers to the spill block, so it can be refilled from the start.
    this.reset();
    return chunk;
  }

  /**
   * Keeps a scanned piece until its chunk completes. Large pieces are kept as
   * views; small ones are copied into a shared block so a stream of tiny
   * pushes (a pipe, 1-byte tests) holds a few buffers per chunk, not one
   * object per push.
   */
  private hold(piece: Buffer): void {
    const len = piece.length;
    this.pendingLen += len;
    if (len >= SMALL_PIECE) {
      this.pending.push(piece);
      this.spillOpen = false;
      return;
    }
    let block = this.spill;
    if (block === undefined || this.spillEnd + len > block.length) {
      block = this.spill = Buffer.allocUnsafeSlow(SPILL_BLOCK);
      this.spillStart = this.spillEnd = 0;
      this.spillOpen = false;
    }
    if (!this.spillOpen) {
      this.spillStart = this.spillEnd;
      this.pending.push(block.subarray(this.spillStart, this.spillStart));
      this.spillOpen = true;
    }
    piece.copy(block, this.spillEnd);
    this.spillEnd += len;
    this.pending[this.pending.length - 1] = block.subarray(this.spillStart, this.spillEnd);
  }
}

/** Chunks an async byte stream (e.g. a Readable without an encoding). */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, options?: ChunkerOptions): AsyncGenerator<Buffer> {
  const chunker = new Chunker(options);
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) {
      // A Readable with setEncoding() yields strings; chunking their UTF-8 re-encoding would hide the bug.
      throw new StorageError('INVALID_ARGUMENT', `chunkStream expects Buffer pieces, got ${typeof piece}`);
    }
    for (const chunk of chunker.push(piece)) yield chunk;
  }
  const last = chunker.finish();
  if (last !== undefined) yield last;
}

/** Cut offsets (end of each chunk) for a whole buffer; the last equals data.length (or [] for empty input). */
export function cutPoints(data: Uint8Array, options?: ChunkerOptions): number[] {
  const c = compileChunkerOptions(options);
  const input = scanInput(asBuffer(data)); // one element type keeps the scan loop monomorphic
  const st: ScanState = { h: 0 };
  const cuts: number[] = [];
  const n = data.length;
  let from = 0;
  while (from < n) {
    const cut = scan(c, st, input, from, 0);
    if (cut < 0) {
      cuts.push(n);
      break;
    }
    cuts.push(cut);
    from = cut;
  }
  return cuts;
}
