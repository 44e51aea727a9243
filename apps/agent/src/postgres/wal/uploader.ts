/**
 * Getting WAL bytes onto the coordinator: the source's WAL run (BeginBackup
 * with wal_stream; the coordinator hands back the same long-lived run and DEK
 * every time), the bytes as sealed data blobs (MissingBlobs + UploadBlobs
 * through a RemoteBlobSink, whose flush answers only once they are durable),
 * then PutWal naming them. A WAL file is safe once PutWal has answered.
 *
 * Blobs are fixed 64 KiB pieces at fixed offsets, not content-defined chunks:
 * WAL does not deduplicate (every page carries its own address), so CDC buys
 * nothing, while fixed pieces let a growing segment re-send only its last,
 * still-growing piece, make the sealed segment the very same blob list as its
 * growing states (nothing uploaded twice at completion), and let a restarted
 * agent or wal-push of the same segment find every piece already present.
 */
import { createHash, type Hash } from 'node:crypto';
import { keyedId, type Dek } from '@pbk/crypto';
import { sealChunk } from '@pbk/storage';
import { AgentError, codeOf, isCoordinatorGone } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AgentRpc } from '../../wire/client.js';
import { RemoteBlobSink } from '../../wire/remote-sink.js';

export const WAL_PIECE_BYTES = 64 * 1024;

export type WalRpc = Pick<AgentRpc, 'beginBackup' | 'missingBlobs' | 'uploadBlobs' | 'putWal' | 'listWal' | 'getWal'>;

interface WalRun {
  runId: Buffer;
  dek: Dek;
  idKey: Buffer;
  zstdLevel: number | undefined;
}

/** What the coordinator has recorded of one file after a put. */
export interface WalPutResult {
  alreadyHad: boolean;
  size: number;
}

/**
 * One file's upload state while it grows: the ids of its pieces and the hash
 * of its whole pieces, so each growth re-reads and re-sends only the tail.
 */
export class GrowingFile {
  readonly pieces: Buffer[] = [];
  size = 0;
  /** SHA-256 over the whole pieces [0, pieces.length - (tail ? 1 : 0)) * PIECE. */
  private wholeHash: Hash = createHash('sha256');
  private wholeBytes = 0;
  constructor(readonly name: string) {}

  /** Byte offset from which the file must be re-read to extend it (the start of the last, partial piece). */
  get rereadFrom(): number {
    return this.wholeBytes;
  }

  /** Records bytes [rereadFrom, rereadFrom + tail.length) as pieces; returns the new pieces' plaintexts and ids. */
  extend(tail: Buffer, idKey: Buffer): { id: Buffer; data: Buffer }[] {
    const firstNew = this.wholeBytes / WAL_PIECE_BYTES;
    this.pieces.length = firstNew; // the old partial piece is replaced
    const out: { id: Buffer; data: Buffer }[] = [];
    for (let off = 0; off < tail.length; off += WAL_PIECE_BYTES) {
      const data = tail.subarray(off, Math.min(tail.length, off + WAL_PIECE_BYTES));
      const id = keyedId(idKey, data);
      this.pieces.push(id);
      out.push({ id, data });
      if (data.length === WAL_PIECE_BYTES) {
        this.wholeHash.update(data);
        this.wholeBytes += data.length;
      }
    }
    this.size = this.wholeBytes + (tail.length % WAL_PIECE_BYTES === 0 ? 0 : tail.length % WAL_PIECE_BYTES);
    if (tail.length === 0) this.size = this.wholeBytes;
    this.lastTail = tail.length % WAL_PIECE_BYTES === 0 ? Buffer.alloc(0) : Buffer.from(tail.subarray(tail.length - (tail.length % WAL_PIECE_BYTES)));
    return out;
  }

  private lastTail = Buffer.alloc(0);

  sha256(): Buffer {
    return this.wholeHash.copy().update(this.lastTail).digest();
  }
}

export class WalUploader {
  private run: WalRun | undefined;
  private opening: Promise<WalRun> | undefined;

  constructor(
    private readonly opts: {
      rpc: WalRpc;
      host: string;
      source: string;
      log: Logger;
      /** Hears the repository id-key (the daemon's restores need it). */
      onIdKey?: ((key: Buffer) => void) | undefined;
    },
  ) {}

  get idKey(): Buffer | undefined {
    return this.run?.idKey;
  }

  /** The WAL run, opened (or found again) on first use and after the coordinator forgot it. */
  async walRun(signal?: AbortSignal): Promise<WalRun> {
    if (this.run) return this.run;
    this.opening ??= (async () => {
      const begin = await this.opts.rpc.beginBackup(
        { source: { host: this.opts.host, kind: 'SOURCE_KIND_POSTGRES', name: this.opts.source }, mode: 'BACKUP_MODE_FULL', walStream: true, resumeRunId: Buffer.alloc(0), commandId: Buffer.alloc(0) },
        signal,
      );
      if (!begin.dek || begin.dek.key.length !== 32 || begin.idKey.length !== 32) throw new AgentError('INTERNAL', 'BeginBackup (wal_stream) answered without a DEK or id-key');
      this.opts.onIdKey?.(begin.idKey);
      const run: WalRun = { runId: begin.runId, dek: { id: begin.dek.id, key: begin.dek.key }, idKey: begin.idKey, zstdLevel: begin.compressionLevel !== 0 ? begin.compressionLevel : undefined };
      this.opts.log.info({ runId: run.runId.toString('hex') }, 'WAL run open');
      this.run = run;
      return run;
    })().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Forget the run after the coordinator said it is gone (FAILED_PRECONDITION, NOT_FOUND): the next call opens it again. */
  private forgetRunOn(err: unknown): void {
    const code = codeOf(err);
    if (code === 'FAILED_PRECONDITION' || code === 'NOT_FOUND' || isCoordinatorGone(err)) this.run = undefined;
  }

  /** Uploads the pieces the repository lacks; resolves once they are durable. */
  async uploadPieces(run: WalRun, pieces: { id: Buffer; data: Buffer }[], signal?: AbortSignal): Promise<number> {
    if (pieces.length === 0) return 0;
    const sink = new RemoteBlobSink(this.opts.rpc, run.runId, signal ? { signal } : {});
    try {
      const need = await sink.claimMissing(pieces.map((p) => p.id));
      let sent = 0;
      for (let i = 0; i < pieces.length; i++) {
        if (!need[i]) continue;
        await sink.addBlob(sealChunk(run.dek, 'data', pieces[i]!.id, pieces[i]!.data, run.zstdLevel));
        sent += pieces[i]!.data.length;
      }
      await sink.flush();
      return sent;
    } catch (err) {
      sink.abort(err);
      throw err;
    }
  }

  /**
   * Records a growing or complete file after uploading its new pieces.
   * `file` already holds the pieces (GrowingFile.extend); `fresh` are the ones to send.
   */
  async put(file: GrowingFile, fresh: { id: Buffer; data: Buffer }[], complete: boolean, signal?: AbortSignal): Promise<WalPutResult> {
    const run = await this.walRun(signal);
    try {
      await this.uploadPieces(run, fresh, signal);
      const res = await this.opts.rpc.putWal(
        { runId: run.runId, fileName: file.name, size: file.size, content: file.pieces, complete, sha256: file.sha256() },
        signal,
      );
      return { alreadyHad: res.alreadyHad, size: file.size };
    } catch (err) {
      this.forgetRunOn(err);
      throw err;
    }
  }

  /** A whole file at once (wal-push, history files, a completed segment found after a restart). */
  async putWhole(name: string, data: Buffer, signal?: AbortSignal): Promise<WalPutResult> {
    const run = await this.walRun(signal);
    const file = new GrowingFile(name);
    const fresh = file.extend(data, run.idKey);
    return this.put(file, fresh, true, signal);
  }
}
