/**
 * Archiving data that arrives as streams rather than as a directory on disk:
 * a pg_basebackup tar stream, an RDB file being read, a WAL segment as it
 * grows. `storeStream` turns bytes into content-defined chunks, ids, claims
 * and sealed blobs in the sink (what the chunk workers do for files);
 * `TreeBuilder` collects entries by path, in any order, and saves the nested
 * trees bottom-up so a snapshot of streamed data restores like any other.
 */
import { posix } from 'node:path';
import { keyedId, type Dek } from '@pbk/crypto';
import { sealChunk } from '../blob/index.js';
import { Chunker, type ChunkerOptions } from '../chunker/index.js';
import { DEFAULT_ZSTD_LEVEL } from '../compress/zstd.js';
import { CancelledError, StorageError } from '../errors.js';
import { checkEntryName, compareNames, saveTree, type BlobSink, type TreeEntry } from '../snapshot/index.js';

export interface StreamContext {
  sink: BlobSink;
  dek: Dek;
  idKey: Buffer;
  chunker: ChunkerOptions;
  zstdLevel?: number;
  signal?: AbortSignal;
  /**
   * Bytes of chunks claimed together (one dedup round trip each); default
   * CLAIM_BATCH_BYTES. A long stream read from a fast source (a pg_basebackup
   * of a whole cluster) spends most of its time waiting on round trips at 4
   * MiB; larger batches trade memory (one batch of plaintext) for fewer waits.
   */
  claimBatchBytes?: number;
}

export interface StoredStream {
  /** Blob ids (hex), in order: the stream's content as a file entry holds it. */
  content: string[];
  size: number;
  /** Blobs (and their sealed bytes) this stream added to the sink. */
  blobsNew: number;
  bytesNewStored: number;
}

/** Chunks of one push are claimed together: one MissingBlobs round trip per ~this many bytes. */
const CLAIM_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Stores a byte stream as chunks. Backpressure is natural: the next input is
 * pulled only after the previous batch is claimed and handed to the sink.
 */
export async function storeStream(ctx: StreamContext, input: AsyncIterable<Uint8Array>): Promise<StoredStream> {
  const chunker = new Chunker(ctx.chunker);
  const level = ctx.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
  const out: StoredStream = { content: [], size: 0, blobsNew: 0, bytesNewStored: 0 };
  let batch: Buffer[] = [];
  let batchBytes = 0;
  /** Ids claimed by this stream: a repeat inside it (zero pages) is stored once. */
  const mine = new Set<string>();

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    const ids = chunks.map((c) => keyedId(ctx.idKey, c));
    const hex = ids.map((id) => id.toString('hex'));
    const ask: Buffer[] = [];
    const askAt: number[] = [];
    ids.forEach((id, i) => {
      if (!mine.has(hex[i]!)) {
        mine.add(hex[i]!);
        ask.push(id);
        askAt.push(i);
      }
    });
    const need = ask.length > 0 ? await ctx.sink.claimMissing(ask) : [];
    for (let j = 0; j < ask.length; j++) {
      if (!need[j]) continue;
      const i = askAt[j]!;
      throwIfAborted(ctx.signal);
      const blob = sealChunk(ctx.dek, 'data', ids[i]!, chunks[i]!, level);
      await ctx.sink.addBlob(blob);
      out.blobsNew++;
      out.bytesNewStored += blob.sealed.length;
    }
    out.content.push(...hex);
  };

  for await (const piece of input) {
    throwIfAborted(ctx.signal);
    if (piece.length === 0) continue;
    out.size += piece.length;
    // The chunker may keep views of `piece`: callers hand over fresh buffers (stream 'data' events are).
    for (const c of chunker.push(piece)) {
      batch.push(c);
      batchBytes += c.length;
    }
    if (batchBytes >= (ctx.claimBatchBytes ?? CLAIM_BATCH_BYTES)) await flush();
  }
  const last = chunker.finish();
  if (last) batch.push(last);
  await flush();
  return out;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError('the stream');
}

/** Metadata of an entry added to a TreeBuilder (mode & 0o7777, ns mtime as a decimal string). */
export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
}

type Node = { meta: EntryMeta; kind: 'dir'; children: Map<string, Node> } | { meta: EntryMeta; kind: 'leaf'; entry: Omit<TreeEntry, 'name' | keyof EntryMeta> };

/**
 * Builds nested trees from entries named by relative '/'-separated paths, in
 * any order. A directory met only as a parent of something gets `defaultDir`
 * metadata until (if ever) it is added itself. Names are checked as a
 * restore would check them, so nothing unsafe is ever saved.
 */
export class TreeBuilder {
  private readonly root: Node & { kind: 'dir' };
  files = 0;
  dirs = 0;
  bytes = 0;

  constructor(private readonly defaultDir: EntryMeta) {
    this.root = { meta: defaultDir, kind: 'dir', children: new Map() };
  }

  addDir(path: string, meta: EntryMeta): void {
    const node = this.dirAt(path);
    node.meta = meta;
  }

  addFile(path: string, meta: EntryMeta, stored: { content: string[]; size: number }): void {
    this.put(path, { meta, kind: 'leaf', entry: { type: 'file', size: stored.size, content: stored.content } });
    this.files++;
    this.bytes += stored.size;
  }

  addSymlink(path: string, meta: EntryMeta, target: string): void {
    if (target.includes('\0')) throw new StorageError('INVALID_ARGUMENT', `symlink ${path}: target contains NUL`);
    this.put(path, { meta, kind: 'leaf', entry: { type: 'symlink', target } });
  }

  /** Saves every tree bottom-up; returns the root tree's id (hex) and the sealed bytes added. */
  async save(sink: BlobSink, dek: Dek, idKey: Buffer): Promise<{ root: string; storedBytes: number; blobsNew: number }> {
    let storedBytes = 0;
    let blobsNew = 0;
    const saveDir = async (node: Node & { kind: 'dir' }): Promise<string> => {
      const entries: TreeEntry[] = [];
      for (const [name, child] of node.children) {
        if (child.kind === 'dir') {
          const subtree = await saveDir(child);
          entries.push({ name, ...child.meta, type: 'dir', subtree });
        } else {
          entries.push({ name, ...child.meta, ...child.entry } as TreeEntry);
        }
      }
      entries.sort((a, b) => compareNames(a.name, b.name));
      const saved = await saveTree(sink, dek, idKey, { entries });
      if (saved.storedBytes > 0) {
        storedBytes += saved.storedBytes;
        blobsNew++;
      }
      return saved.id;
    };
    const root = await saveDir(this.root);
    return { root, storedBytes, blobsNew };
  }

  private split(path: string): string[] {
    const norm = posix.normalize(path.replace(/^\.\//, '')).replace(/\/+$/, '');
    if (norm === '.' || norm === '') return [];
    const parts = norm.split('/');
    for (const p of parts) checkEntryName(p, path);
    if (posix.isAbsolute(path) || parts.includes('..')) throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)} must be relative and stay inside the tree`);
    return parts;
  }

  private dirAt(path: string): Node & { kind: 'dir' } {
    let node = this.root;
    for (const name of this.split(path)) {
      let child = node.children.get(name);
      if (child === undefined) {
        child = { meta: this.defaultDir, kind: 'dir', children: new Map() };
        node.children.set(name, child);
        this.dirs++;
      } else if (child.kind !== 'dir') {
        throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)}: ${name} is a file, not a directory`);
      }
      node = child;
    }
    return node;
  }

  private put(path: string, leaf: Node & { kind: 'leaf' }): void {
    const parts = this.split(path);
    const name = parts.pop();
    if (name === undefined) throw new StorageError('INVALID_ARGUMENT', 'a file entry needs a name');
    const dir = this.dirAt(parts.join('/'));
    if (dir.children.get(name)?.kind === 'dir') throw new StorageError('INVALID_ARGUMENT', `entry path ${JSON.stringify(path)} is already a directory`);
    dir.children.set(name, leaf);
  }
}
