/**
 * Sends stored blobs to an agent as they are in the packs (sealed: the
 * coordinator decrypts nothing), in ~1 MiB messages, each DEK once per stream
 * just before its first blob (every hand-out audited as a key unwrap), the
 * repository id-key on the first message so the agent checks every blob
 * against its id. DownloadBlobs (restores) and GetWal (wal-fetch) both send
 * blobs this way. A delta blob travels as stored, with its base just before
 * it marked base-only (BlobPart.base_only), so the agent can open it.
 */
import { BlobMessageBatcher, type v1 } from '@pbk/protocol';
import { packName, StorageError, type IndexEntry, type Repository } from '@pbk/storage';
import type { Auditor } from './audit.js';

export interface BlobSendOptions {
  repo: Repository;
  auditor: Auditor;
  /** Who receives the keys (audit actor). */
  actor: string;
  /** What the blobs are for, in errors ("snapshot X", "WAL file Y of Z"). */
  where: string;
  /** Added to every key.unwrap audit record (snapshot or WAL file, purpose). */
  auditDetails: Record<string, unknown>;
  /** Writes one message; `first` is true once. Even an empty stream gets one message (id-key, and the caller's header). */
  write(msg: v1.DownloadBlobsResponse, first: boolean): Promise<void>;
}

/**
 * Blobs next to each other in one pack (a restore asks in backup order, which
 * is pack order) are read with one ranged read: a span of at most SPAN_BYTES,
 * skipping at most GAP_BYTES of other blobs. READS_AHEAD spans are read while
 * the stream sends: one read per blob, awaited in turn, kept the coordinator
 * waiting on the disk between messages.
 */
const SPAN_BYTES = 4 * 1024 * 1024;
const GAP_BYTES = 256 * 1024;
const READS_AHEAD = 4;

interface Located {
  id: Buffer;
  entry: IndexEntry;
}

/** One blob as it goes out: a delta blob is preceded by its base, marked base-only. */
interface Outgoing extends Located {
  baseOnly: boolean;
}

/**
 * What goes out for `ids`, in order: every id located (a missing one fails
 * the stream before anything is sent), and before each delta blob its base.
 */
function outgoing(ids: Iterable<Buffer>, o: Pick<BlobSendOptions, 'repo' | 'where'>): Outgoing[] {
  const out: Outgoing[] = [];
  for (const id of ids) {
    const entry = o.repo.locate(id, o.where);
    if (entry.deltaBase) {
      const base = o.repo.locate(entry.deltaBase, `delta blob ${id.toString('hex')} of ${o.where}`);
      // Writers never chain deltas; a chained one would reach the agent with a base it cannot open.
      if (base.deltaBase) {
        throw new StorageError('CORRUPT', `blob ${id.toString('hex')} (${o.where}) is a delta against ${entry.deltaBase.toString('hex')}, itself a delta: the index is damaged; run pbk verify`);
      }
      out.push({ id: entry.deltaBase, entry: base, baseOnly: true });
    }
    out.push({ id, entry, baseOnly: false });
  }
  return out;
}

/** Consecutive blobs that lie close together in one pack. */
function* spans(blobs: Iterable<Located>): Generator<Located[]> {
  let span: Located[] = [];
  for (const b of blobs) {
    const { entry } = b;
    const first = span[0]?.entry;
    const last = span.at(-1)?.entry;
    const near =
      first !== undefined && last !== undefined && entry.packId === first.packId && entry.offset >= last.offset + last.length && entry.offset - (last.offset + last.length) <= GAP_BYTES && entry.offset + entry.length - first.offset <= SPAN_BYTES;
    if (!near && span.length > 0) {
      yield span;
      span = [];
    }
    span.push(b);
  }
  if (span.length > 0) yield span;
}

/** The sealed bytes of each blob of a span, in order, from one read. */
async function readSpan(span: Located[], o: Pick<BlobSendOptions, 'repo' | 'where'>): Promise<Buffer[]> {
  const first = span[0]!.entry;
  const last = span.at(-1)!.entry;
  const end = last.offset + last.length;
  const bytes = await o.repo.backend.get(packName(first.packId), { offset: first.offset, length: end - first.offset });
  return span.map(({ id, entry }) => {
    const at = entry.offset - first.offset;
    if (bytes.length < at + entry.length) {
      throw new StorageError('CORRUPT', `pack ${entry.packId} is truncated: blob ${id.toString('hex')} (${o.where}) needs bytes ${entry.offset}..${entry.offset + entry.length}; run pbk verify`);
    }
    return bytes.subarray(at, at + entry.length);
  });
}

/**
 * The sealed bytes of `blobs`, one at a time in order, read span by span
 * with READS_AHEAD spans read ahead.
 */
class SpanReader {
  readonly #pending: Generator<Located[]>;
  readonly #reads: Promise<Buffer[]>[] = [];
  #current: Buffer[] = [];

  constructor(
    blobs: Located[],
    private readonly o: Pick<BlobSendOptions, 'repo' | 'where'>,
  ) {
    this.#pending = spans(blobs);
    this.#fill();
  }

  async next(): Promise<Buffer> {
    while (this.#current.length === 0) {
      const read = this.#reads.shift();
      if (read === undefined) throw new StorageError('INTERNAL', `reading blobs for ${this.o.where}: asked for more blobs than were located (a bug)`);
      this.#current = await read;
      this.#fill();
    }
    return this.#current.shift()!;
  }

  #fill(): void {
    while (this.#reads.length < READS_AHEAD) {
      const next = this.#pending.next();
      if (next.done) return;
      const bytes = readSpan(next.value, this.o);
      bytes.catch(() => undefined); // awaited in turn by next(); a stream that fails earlier leaves it unobserved
      this.#reads.push(bytes);
    }
  }
}

export async function sendBlobs(ids: Iterable<Buffer>, o: BlobSendOptions): Promise<void> {
  const sentKeys = new Set<string>();
  const batcher = new BlobMessageBatcher();
  let first = true;
  const send = async (parts: v1.BlobPart[]): Promise<void> => {
    const keys: v1.DataKey[] = [];
    for (const p of parts) {
      const dekId = p.dekId as Buffer;
      const hex = dekId.toString('hex');
      if (sentKeys.has(hex)) continue;
      sentKeys.add(hex);
      const dek = await o.repo.keys.dek(dekId);
      await o.auditor.record({ actor: o.actor, action: 'key.unwrap', target: hex, details: o.auditDetails });
      keys.push({ id: dek.id, key: dek.key });
    }
    const wasFirst = first;
    first = false;
    await o.write({ parts, keys, ...(wasFirst ? { idKey: o.repo.keys.master.idKey } : {}) }, wasFirst);
  };
  const blobs = outgoing(ids, o);
  // Bases live in older packs than their deltas: read apart, each sequence keeps its own spans.
  const asked = new SpanReader(
    blobs.filter((b) => !b.baseOnly),
    o,
  );
  const bases = new SpanReader(
    blobs.filter((b) => b.baseOnly),
    o,
  );
  for (const { id, entry, baseOnly } of blobs) {
    const sealed = await (baseOnly ? bases : asked).next();
    const wire = { id, type: entry.type === 'tree' ? ('BLOB_TYPE_TREE' as const) : ('BLOB_TYPE_DATA' as const), dekId: entry.dekId, rawLength: entry.rawLength, sealed };
    for (const parts of batcher.push({ ...wire, ...(entry.deltaBase ? { deltaBase: entry.deltaBase } : {}), ...(baseOnly ? { baseOnly } : {}) })) await send(parts);
  }
  const last = batcher.flush();
  if (last !== undefined || first) await send(last ?? []);
}
