/**
 * BASE_BACKUP spoken over a physical replication connection (PostgreSQL 15+
 * syntax), for clusters with tablespaces outside the data directory:
 * `pg_basebackup -D -` refuses those ("can only write single tablespace to
 * stdout") and `-D DIR` would leave plaintext tar files on disk. The server
 * sends one COPY stream whose messages say which archive follows (PostgreSQL
 * docs, "Streaming Replication Protocol", BASE_BACKUP):
 *
 *   'n' archive name, tablespace location   a new archive starts (tablespaces first, base.tar last)
 *   'd' bytes                               tar data of the current archive, or of the manifest after 'm'
 *   'm'                                     the backup manifest follows
 *   'p' int64                               progress (only with PROGRESS)
 *
 * Around the COPY stream come three result sets: the start position
 * (recptr, tli), the tablespaces (spcoid, spclocation, size) and the end
 * position. `pg` parses the messages; this is a Submittable that turns them
 * into archives read one after another, with the socket paused while the
 * reader is behind (bounded memory).
 */
import type pg from 'pg';
import { AgentError } from '../errors.js';

export interface BaseBackupCommandOptions {
  label: string;
  /** kB/s, PostgreSQL's MAX_RATE unit; 32..1048576. */
  maxRateKb?: number;
}

export interface TablespaceInfo {
  oid: string;
  location: string;
}

export interface BaseBackupArchive {
  /** 'base.tar' for the data directory, '<oid>.tar' for a tablespace. */
  name: string;
  /** The tablespace's directory on the server; '' for the data directory. */
  location: string;
  /** The archive's tar bytes; read them to their end (or stop the whole stream) before asking for the next archive. */
  data: AsyncIterable<Buffer>;
}

/** The BASE_BACKUP command (new option syntax, PostgreSQL 15+): no WAL (the stream has it), fast checkpoint, a manifest. */
export function baseBackupCommand(o: BaseBackupCommandOptions): string {
  const opts = [`LABEL ${quoteLiteral(o.label)}`, "CHECKPOINT 'fast'", "MANIFEST 'yes'"];
  if (o.maxRateKb !== undefined) opts.push(`MAX_RATE ${Math.min(1048576, Math.max(32, Math.floor(o.maxRateKb)))}`);
  return `BASE_BACKUP (${opts.join(', ')})`;
}

function quoteLiteral(s: string): string {
  if (s.includes('\0')) throw new AgentError('INVALID_ARGUMENT', 'a backup label cannot contain NUL');
  return `'${s.replace(/'/g, "''")}'`;
}

/** What one CopyData message of a BASE_BACKUP stream holds (its first byte says which). */
export type CopyMessage = { kind: 'archive'; name: string; location: string } | { kind: 'data'; bytes: Buffer } | { kind: 'manifest' } | { kind: 'progress'; bytes: number };

/** Decodes one CopyData payload; `data` is a view of `msg` (the caller copies what it keeps). */
export function parseCopyMessage(msg: Buffer): CopyMessage {
  const type = String.fromCharCode(msg[0] ?? 0);
  switch (type) {
    case 'n': {
      const end1 = msg.indexOf(0, 1);
      const end2 = end1 < 0 ? -1 : msg.indexOf(0, end1 + 1);
      if (end2 < 0) throw new AgentError('CORRUPT', 'BASE_BACKUP sent a new-archive message without its two strings');
      return { kind: 'archive', name: msg.toString('utf8', 1, end1), location: msg.toString('utf8', end1 + 1, end2) };
    }
    case 'd':
      return { kind: 'data', bytes: msg.subarray(1) };
    case 'm':
      return { kind: 'manifest' };
    case 'p':
      if (msg.length < 9) throw new AgentError('CORRUPT', 'BASE_BACKUP sent a short progress message');
      return { kind: 'progress', bytes: Number(msg.readBigInt64BE(1)) };
    default:
      throw new AgentError('CORRUPT', `BASE_BACKUP sent a CopyData message of unknown type ${JSON.stringify(type)}: is the server older than PostgreSQL 15?`);
  }
}

type Event = { kind: 'archive'; name: string; location: string } | { kind: 'data'; bytes: Buffer } | { kind: 'manifest' };

/** Data is handed on in pieces of up to this size (CopyData messages are ~32 KiB; fewer, larger pieces cost less per byte downstream). */
const PIECE_BYTES = 1024 * 1024;
/** The socket pauses with this much read and not yet taken, and resumes below LOW_WATER. */
const HIGH_WATER = 16 * 1024 * 1024;
const LOW_WATER = 4 * 1024 * 1024;

interface PgConnection {
  query(text: string): void;
  sendCopyFail(msg: string): void;
  stream: { pause(): void; resume(): void; destroy(err?: Error): void };
}

/**
 * The BASE_BACKUP query as `pg` runs a custom Submittable. Use
 * `client.query(cmd)` once, then `archives()`; `end` and `manifest` are set
 * once the archives are read.
 */
export class BaseBackupStream {
  start: { lsn: string; timeline: number } | undefined;
  tablespaces: TablespaceInfo[] = [];
  end: { lsn: string; timeline: number } | undefined;
  manifest: Buffer | undefined;

  private connection: PgConnection | undefined;
  private resultSets = 0;
  private readonly queue: Event[] = [];
  private queuedBytes = 0;
  private paused = false;
  private piece: Buffer | undefined;
  private pieceLen = 0;
  private finished = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly text: string) {}

  // --- pg's Submittable interface (called by pg.Client) ---
  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }
  handleRowDescription(): void {
    this.resultSets++;
  }
  handleDataRow(msg: { fields: (string | null)[] }): void {
    const f = msg.fields;
    if (this.resultSets === 1) this.start = { lsn: f[0] ?? '', timeline: Number(f[1]) };
    else if (this.resultSets === 2) {
      if (f[0] !== null && f[0] !== undefined) this.tablespaces.push({ oid: f[0], location: f[1] ?? '' });
    } else this.end = { lsn: f[0] ?? '', timeline: Number(f[1]) };
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.failure) return;
    let m: CopyMessage;
    try {
      m = parseCopyMessage(msg.chunk);
    } catch (err) {
      this.fail(err as Error);
      this.connection?.stream.destroy();
      return;
    }
    if (m.kind === 'data') {
      this.append(m.bytes);
      return;
    }
    if (m.kind === 'progress') return;
    this.flush();
    this.push(m.kind === 'archive' ? { kind: 'archive', name: m.name, location: m.location } : { kind: 'manifest' });
  }
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('pbk-agent does not send data to BASE_BACKUP');
  }
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleError(err: Error): void {
    this.fail(err);
  }
  handleReadyForQuery(): void {
    this.flush();
    this.finished = true;
    this.signal();
  }

  /** The archives in the order the server sends them; the manifest is collected into `manifest` on the way. */
  async *archives(): AsyncGenerator<BaseBackupArchive> {
    for (;;) {
      const ev = await this.peek();
      if (ev === undefined) return;
      this.take();
      if (ev.kind === 'data') throw new AgentError('CORRUPT', 'BASE_BACKUP sent data before naming its archive');
      if (ev.kind === 'manifest') {
        const parts: Buffer[] = [];
        for (let d = await this.peek(); d?.kind === 'data'; d = await this.peek()) parts.push((this.take() as { bytes: Buffer }).bytes);
        this.manifest = Buffer.concat(parts);
        continue;
      }
      yield { name: ev.name, location: ev.location, data: this.dataOfArchive() };
      // Whatever the reader left (the padding after tar's end marker) belongs to this archive.
      while ((await this.peek())?.kind === 'data') this.take();
    }
  }

  /** Stops the stream (the caller gave up): the server sees the connection close. */
  abort(): void {
    if (!this.finished) this.connection?.stream.destroy();
  }

  private async *dataOfArchive(): AsyncGenerator<Buffer> {
    for (let d = await this.peek(); d?.kind === 'data'; d = await this.peek()) yield (this.take() as { bytes: Buffer }).bytes;
  }

  private append(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length) {
      this.piece ??= Buffer.allocUnsafeSlow(PIECE_BYTES);
      const n = bytes.copy(this.piece, this.pieceLen, off);
      this.pieceLen += n;
      off += n;
      if (this.pieceLen === PIECE_BYTES) this.flush();
    }
  }

  private flush(): void {
    if (this.piece === undefined || this.pieceLen === 0) return;
    const bytes = this.pieceLen === PIECE_BYTES ? this.piece : Buffer.from(this.piece.subarray(0, this.pieceLen));
    if (this.pieceLen === PIECE_BYTES) this.piece = undefined;
    this.pieceLen = 0;
    this.push({ kind: 'data', bytes });
  }

  private push(ev: Event): void {
    this.queue.push(ev);
    if (ev.kind === 'data') {
      this.queuedBytes += ev.bytes.length;
      if (!this.paused && this.queuedBytes >= HIGH_WATER && this.connection) {
        this.paused = true;
        this.connection.stream.pause();
      }
    }
    this.signal();
  }

  private take(): Event {
    const ev = this.queue.shift()!;
    if (ev.kind === 'data') {
      this.queuedBytes -= ev.bytes.length;
      if (this.paused && this.queuedBytes <= LOW_WATER && this.connection) {
        this.paused = false;
        this.connection.stream.resume();
      }
    }
    return ev;
  }

  /** The next event without taking it; undefined at the end; throws the stream's failure. */
  private async peek(): Promise<Event | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.queue.length > 0) return this.queue[0];
      if (this.finished) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.paused && this.connection) this.connection.stream.resume();
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** Runs BASE_BACKUP on `client` (connected with `replication: 'true'`). */
export function startBaseBackup(client: pg.Client, options: BaseBackupCommandOptions): BaseBackupStream {
  const stream = new BaseBackupStream(baseBackupCommand(options));
  // pg runs any object with submit() as a query; its promise-less form returns it.
  (client as unknown as { query(s: BaseBackupStream): unknown }).query(stream);
  return stream;
}
