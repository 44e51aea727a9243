import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend/backend.js';
import { openChunk } from '../blob/codec.js';
import { DEFAULT_CHUNKER_OPTIONS, validateChunkerOptions, type ChunkerOptions } from '../chunker/index.js';
import { BlobMissingError, NotFoundError, ObjectCorruptError, StorageError } from '../errors.js';
import { BlobIndex, decodeIndexFile, encodeIndexFile, idKey, IndexFormatError, type IndexEntry, type IndexFile } from '../index/index.js';
import { KeyRing, type KekInput, type KeyAccessHook } from '../keys/index.js';
import { silentLogger, type Logger } from '../logger.js';
import { PackBuffers, PackBuilder, packName, type PackEntry, type SealedBlob } from '../pack/index.js';
import { CONFIG_NAME, REPOSITORY_FORMAT_VERSION, type RepositoryConfig } from './config.js';
import { OBJECT_FOLDERS, openObject, sealObject, type ObjectKind } from './objects.js';

export interface RepositoryOptions {
  /**
   * Close a pack once it holds this many bytes. 16 MiB (restic's default): large enough that
   * S3 request counts stay low, small enough that GC repacks stay cheap; 32 MiB cost ~50 MiB
   * more peak RSS in a 1 GiB backup (two packs in memory at once) for no measurable speed.
   */
  packTargetBytes?: number;
  /** Packs being written at once while the next fills; each holds up to packTargetBytes of memory. One keeps up: a pack write takes a fraction of the time the workers need to fill the next. */
  maxPackWrites?: number;
  /** Write an index object after this many new packs (and at every flush), bounding what a crash leaves unindexed. */
  packsPerIndex?: number;
  now?: () => Date;
  onKeyAccess?: KeyAccessHook;
  logger?: Logger;
}

export interface InitOptions extends RepositoryOptions {
  chunker?: Pick<ChunkerOptions, 'minSize' | 'avgSize' | 'maxSize'>;
}

export const DEFAULT_PACK_TARGET_BYTES = 16 * 1024 * 1024;

/** Deepest chain of delta blobs a reader follows (writers make none deeper than 1). */
export const MAX_DELTA_DEPTH = 4;

interface Compiled {
  packTargetBytes: number;
  maxPackWrites: number;
  packsPerIndex: number;
  now: () => Date;
  onKeyAccess: KeyAccessHook;
  logger: Logger;
}

function compile(o: RepositoryOptions): Compiled {
  return {
    packTargetBytes: o.packTargetBytes ?? DEFAULT_PACK_TARGET_BYTES,
    maxPackWrites: o.maxPackWrites ?? 1,
    packsPerIndex: o.packsPerIndex ?? 64,
    now: o.now ?? (() => new Date()),
    onKeyAccess: o.onKeyAccess ?? (() => {}),
    logger: o.logger ?? silentLogger,
  };
}

/**
 * One repository, opened for reading and (by its single writer, the
 * coordinator) writing. Write order, which every reader relies on:
 * pack durable -> index object durable -> snapshot durable.
 */
export class Repository {
  readonly index = new BlobIndex();
  /** Index objects found damaged at open (skipped). */
  readonly damagedIndexObjects: string[] = [];
  /** Blob ids accepted by addBlob but not yet in a durable, indexed pack. */
  private readonly pending = new Set<string>();
  private readonly packBuffers: PackBuffers;
  private builder: PackBuilder;
  private readonly writes = new Set<Promise<void>>();
  private unindexed: { packId: string; entries: PackEntry[] }[] = [];
  private writeError: unknown;
  /** While GC runs: ids a backup was told exist, so GC keeps them even if no snapshot names them yet. */
  private touched: Set<string> | undefined;
  private readonly opts: Compiled;
  private indexReloads = 0;

  private constructor(
    readonly backend: Backend,
    readonly config: RepositoryConfig,
    readonly keys: KeyRing,
    options: RepositoryOptions,
  ) {
    this.opts = compile(options);
    // A pack closes once it reaches the target: room for one more chunk past it, and a MiB for
    // compression overhead and the trailer (a larger tree blob makes its pack's buffer grow).
    // Pages are touched only as packs fill them.
    this.packBuffers = new PackBuffers(this.opts.packTargetBytes + config.chunker.maxSize + (1 << 20), this.opts.maxPackWrites + 1);
    this.builder = this.newPackBuilder();
  }

  get logger(): Logger {
    return this.opts.logger;
  }

  now(): Date {
    return this.opts.now();
  }

  get chunkerOptions(): ChunkerOptions {
    return { ...this.config.chunker, gearSeed: this.keys.master.gearSeed };
  }

  static async init(backend: Backend, kek: KekInput, options: InitOptions = {}): Promise<Repository> {
    const opts = compile(options);
    if (await exists(backend, CONFIG_NAME)) {
      throw new StorageError('ALREADY_EXISTS', `${backend.location} already holds a repository (a config object exists); refusing to overwrite it`);
    }
    const chunker = options.chunker ?? { minSize: DEFAULT_CHUNKER_OPTIONS.minSize, avgSize: DEFAULT_CHUNKER_OPTIONS.avgSize, maxSize: DEFAULT_CHUNKER_OPTIONS.maxSize };
    validateChunkerOptions(chunker);
    const repoId = randomBytes(16);
    const config: RepositoryConfig = { version: REPOSITORY_FORMAT_VERSION, id: repoId.toString('hex'), created: opts.now().toISOString(), chunker };
    const keys = await KeyRing.create(backend, repoId, kek, opts.now(), opts.onKeyAccess);
    // config last: a repository without config is an interrupted init, never a usable one.
    await backend.put(CONFIG_NAME, Buffer.from(JSON.stringify(config, null, 2) + '\n'));
    return new Repository(backend, config, keys, options);
  }

  static async open(backend: Backend, kek: KekInput, options: RepositoryOptions = {}): Promise<Repository> {
    const config = await readConfig(backend);
    const keys = await KeyRing.unlock(backend, Buffer.from(config.id, 'hex'), kek, options.onKeyAccess);
    const repo = new Repository(backend, config, keys, options);
    await repo.loadIndex();
    return repo;
  }

  // ---- index ------------------------------------------------------------

  /** Reads every index object that no other index object supersedes. */
  async loadIndex(): Promise<{ indexObjects: number }> {
    const files = new Map<string, IndexFile>();
    for await (const id of this.listObjects('index')) {
      try {
        files.set(id, await this.loadIndexFile(id));
      } catch (err) {
        // Listed, then deleted: the writer's compaction or GC superseded it meanwhile, and the
        // object superseding it may not be in our listing: read the whole index again.
        if (err instanceof NotFoundError && this.indexReloads++ < 5) {
          this.damagedIndexObjects.length = 0;
          return this.loadIndex();
        }
        // A damaged index must not lock the operator out: verify reports it, repair rebuilds it from the packs.
        if (!(err instanceof ObjectCorruptError)) throw err;
        this.damagedIndexObjects.push(id);
        this.opts.logger.warn({ index: id, err: err.message }, 'skipping a damaged index object; run verify and repair-index');
      }
    }
    const superseded = new Set<string>();
    for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
    let used = 0;
    for (const [id, f] of files) {
      if (superseded.has(id)) continue;
      used++;
      for (const p of f.packs) this.index.addPack(p.packId, p.entries);
    }
    return { indexObjects: used };
  }

  async loadIndexFile(id: string): Promise<IndexFile> {
    const payload = await this.loadObject('index', id);
    try {
      return decodeIndexFile(payload);
    } catch (err) {
      if (err instanceof IndexFormatError) throw new ObjectCorruptError(OBJECT_FOLDERS.index + id, err.message, { cause: err });
      throw err;
    }
  }

  /** Writes an index object for packs already durable (repair, GC) and adds them to the in-memory index. */
  async saveIndex(file: IndexFile): Promise<string> {
    const id = await this.saveObject('index', encodeIndexFile(file));
    for (const p of file.packs) this.index.addPack(p.packId, p.entries);
    return id;
  }

  // ---- writing blobs ----------------------------------------------------

  /** True when the blob is stored or already on its way into a pack. */
  hasBlob(id: Buffer): boolean {
    return this.index.has(id) || this.pending.has(idKey(id));
  }

  /**
   * Claims the ids nobody stored yet: returns, for each id, whether the caller
   * must upload it. Claimed ids count as present for everyone else, so two
   * files with the same chunk upload it once.
   */
  claimMissing(ids: readonly Buffer[]): boolean[] {
    return ids.map((id) => {
      if (this.hasBlob(id)) {
        this.touched?.add(idKey(id));
        return false;
      }
      this.pending.add(idKey(id));
      return true;
    });
  }

  /** Releases claims whose upload will not happen (a failed file), so a later run uploads them. */
  releaseClaims(ids: readonly Buffer[]): void {
    for (const id of ids) if (!this.index.has(id)) this.pending.delete(idKey(id));
  }

  /**
   * Appends a sealed blob to the open pack; resolves once the blob is accepted
   * (not yet durable: call flush). Waits when maxPackWrites packs are in flight.
   * The sealed bytes are copied into the pack: the caller may reuse its buffer
   * once this settles.
   */
  async addBlob(blob: SealedBlob): Promise<void> {
    this.throwIfWriteFailed();
    // A delta reuses its base as a deduplicated blob does: a GC running now must keep the base's pack.
    if (blob.deltaBase) this.touched?.add(idKey(blob.deltaBase));
    this.pending.add(idKey(blob.id));
    this.builder.add(blob);
    if (this.builder.size >= this.opts.packTargetBytes) await this.closePack();
  }

  /** Makes everything added so far durable: packs, then an index object naming them. */
  async flush(): Promise<void> {
    if (this.builder.count > 0) await this.closePack();
    await Promise.all(this.writes);
    this.throwIfWriteFailed();
    await this.writeIndex();
  }

  private async closePack(): Promise<void> {
    const builder = this.builder;
    this.builder = this.newPackBuilder();
    while (this.writes.size >= this.opts.maxPackWrites) await Promise.race(this.writes);
    this.throwIfWriteFailed();
    const pack = builder.finish(this.keys.master.metaKey);
    // One buffer (the builder's, reused for a later pack once this write settles): a few large
    // writes instead of one per blob, and a Buffer put can be retried.
    const write = this.backend
      .put(packName(pack.id), pack.parts[0])
      .then(async () => {
        this.unindexed.push({ packId: pack.id, entries: pack.entries });
        this.index.addPack(pack.id, pack.entries);
        for (const e of pack.entries) this.pending.delete(idKey(e.id));
        this.opts.logger.debug({ pack: pack.id, blobs: pack.entries.length, bytes: pack.length }, 'pack stored');
        if (this.unindexed.length >= this.opts.packsPerIndex) await this.writeIndex();
      })
      .catch((err: unknown) => {
        this.writeError ??= err;
        for (const e of pack.entries) this.pending.delete(idKey(e.id));
      })
      .finally(() => {
        pack.release();
        this.writes.delete(write);
      });
    this.writes.add(write);
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    try {
      await this.saveObject('index', encodeIndexFile({ supersedes: [], packs }));
    } catch (err) {
      this.unindexed.unshift(...packs);
      throw err;
    }
  }

  private throwIfWriteFailed(): void {
    if (this.writeError !== undefined) {
      const err = this.writeError;
      this.writeError = undefined;
      throw err;
    }
  }

  /**
   * A builder for packs written outside addBlob (compaction, GC), in the
   * repository's reused pack memory: release each finished pack once written.
   */
  newPackBuilder(): PackBuilder {
    return new PackBuilder(this.packBuffers);
  }

  /** Drops what was added but not flushed (a failed run); durable packs stay for GC to judge. */
  abandonWrites(): void {
    this.builder.discard();
    this.builder = this.newPackBuilder();
    this.pending.clear();
  }

  /** GC calls this before marking; every id claimMissing answers "present" from then on is remembered. */
  trackReuse(): void {
    this.touched = new Set();
  }

  /** Ends tracking and returns the ids (hex) reused since trackReuse. */
  reusedSinceTracking(): Set<string> {
    const ids = new Set([...(this.touched ?? [])].map((k) => Buffer.from(k, 'latin1').toString('hex')));
    this.touched = undefined;
    return ids;
  }

  // ---- reading blobs ----------------------------------------------------

  locate(id: Buffer, referencedBy?: string): IndexEntry {
    const entry = this.index.get(id);
    if (!entry) throw new BlobMissingError(id.toString('hex'), referencedBy);
    return entry;
  }

  /** The sealed bytes of a blob as its index entry locates them (not opened). */
  async readSealed(id: Buffer, referencedBy?: string): Promise<{ entry: IndexEntry; sealed: Buffer }> {
    const entry = this.locate(id, referencedBy);
    let sealed: Buffer;
    try {
      sealed = await this.backend.get(packName(entry.packId), { offset: entry.offset, length: entry.length });
    } catch (err) {
      if (err instanceof NotFoundError) throw new BlobMissingError(id.toString('hex'), `${referencedBy ?? 'a reader'}; its pack ${entry.packId} is gone`);
      throw err;
    }
    if (sealed.length !== entry.length) {
      throw new StorageError('CORRUPT', `pack ${entry.packId} is truncated: blob ${id.toString('hex')} needs bytes ${entry.offset}..${entry.offset + entry.length}`);
    }
    return { entry, sealed };
  }

  /** The plaintext of a blob, checked against its id (a delta blob's base read and checked first). */
  async readBlob(id: Buffer, referencedBy?: string): Promise<Buffer> {
    return this.readBlobAt(id, referencedBy, 0);
  }

  private async readBlobAt(id: Buffer, referencedBy: string | undefined, depth: number): Promise<Buffer> {
    const { entry, sealed } = await this.readSealed(id, referencedBy);
    let base: Buffer | undefined;
    if (entry.deltaBase) {
      // Writers never chain deltas; a reader follows a short chain but never a cycle.
      if (depth >= MAX_DELTA_DEPTH) throw new StorageError('CORRUPT', `blob ${id.toString('hex')} is a delta of a delta more than ${MAX_DELTA_DEPTH} deep (a cycle in the index?); run verify`);
      base = await this.readBlobAt(entry.deltaBase, `delta blob ${id.toString('hex')}`, depth + 1);
    }
    return openChunk(await this.keys.dek(entry.dekId), this.keys.master.idKey, id, sealed, entry.rawLength, entry.packId, base);
  }

  // ---- metadata objects -------------------------------------------------

  async saveObject(kind: ObjectKind, payload: Buffer): Promise<string> {
    const { id, bytes } = sealObject(this.keys.master.metaKey, kind, payload);
    await this.backend.put(OBJECT_FOLDERS[kind] + id, bytes);
    return id;
  }

  async loadObject(kind: ObjectKind, id: string): Promise<Buffer> {
    return openObject(this.keys.master.metaKey, kind, id, await this.backend.get(OBJECT_FOLDERS[kind] + id));
  }

  async *listObjects(kind: ObjectKind): AsyncGenerator<string> {
    const folder = OBJECT_FOLDERS[kind];
    for await (const o of this.backend.list(folder)) {
      const id = o.name.slice(folder.length);
      if (/^[0-9a-f]{64}$/.test(id)) yield id;
    }
  }

  async deleteObject(kind: ObjectKind, id: string): Promise<void> {
    await this.backend.delete(OBJECT_FOLDERS[kind] + id);
  }
}

async function exists(backend: Backend, name: string): Promise<boolean> {
  try {
    await backend.stat(name);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

async function readConfig(backend: Backend): Promise<RepositoryConfig> {
  let raw: Buffer;
  try {
    raw = await backend.get(CONFIG_NAME);
  } catch (err) {
    if (err instanceof NotFoundError) throw new StorageError('NOT_FOUND', `no repository at ${backend.location} (no config object); create one with init`, { cause: err });
    throw err;
  }
  let config: RepositoryConfig;
  try {
    config = JSON.parse(raw.toString('utf8')) as RepositoryConfig;
  } catch (err) {
    throw new ObjectCorruptError(CONFIG_NAME, 'not valid JSON', { cause: err });
  }
  if (config.version !== REPOSITORY_FORMAT_VERSION) {
    throw new StorageError('FAILED_PRECONDITION', `repository format version ${config.version} is not supported by this pbk (supports ${REPOSITORY_FORMAT_VERSION})`);
  }
  if (!/^[0-9a-f]{32}$/.test(config.id)) throw new ObjectCorruptError(CONFIG_NAME, 'repository id is not 16 bytes of hex');
  return config;
}
