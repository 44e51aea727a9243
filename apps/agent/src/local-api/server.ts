/**
 * The agent daemon's local API: a tiny HTTP service on a unix socket for the
 * programs PostgreSQL runs as its own OS user (archive_command,
 * restore_command), which cannot read the agent's key (state dir 0700, root).
 *
 *   PUT /wal/<source>/<file>        body = the WAL file; 200 {"alreadyHad":bool}
 *   GET /wal/<host>/<source>/<file> 200 + the bytes; 404 when the coordinator
 *                                   has no complete file of that name
 *
 * Errors are JSON {code, message} with a status per pbk code (client.ts maps
 * them back). Who may connect is decided by the socket's mode: 0660, group of
 * the PostgreSQL OS user, in a directory only root and that group can enter.
 * WAL is the database's own data, so the postgres user gains nothing new.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { OpenPool } from '@pbk/storage';
import { AgentError, codeOf, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { isArchiveName, isSegmentName } from '../postgres/wal/names.js';
import { fetchWal } from '../postgres/wal/fetch.js';
import type { WalRpc } from '../postgres/wal/uploader.js';
import { WalPrefetch } from './wal-prefetch.js';
import { WalSpool } from './wal-spool.js';

/**
 * PostgreSQL's default wal_segment_size. A growing segment is padded to it for
 * recovery; a cluster initialised with another size gets PostgreSQL's own loud
 * "wrong size" refusal, never silently wrong WAL (the record does not carry the size yet).
 */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

/** What a configured PostgreSQL source offers wal-push (its WalStreamer). */
export interface WalPushTarget {
  push(fileName: string, data: Buffer, signal?: AbortSignal): Promise<{ alreadyHad: boolean }>;
}

export interface LocalApiOptions {
  socketPath: string;
  /** Group that may use the socket (the PostgreSQL OS user's); undefined leaves the owner's group. */
  gid: number | undefined;
  /** The WAL target of a local source, by source name. */
  walTarget(source: string): WalPushTarget | undefined;
  rpc: Pick<WalRpc, 'getWal'>;
  log: Logger;
}

export interface LocalApi {
  readonly socketPath: string;
  /** A restore will start recovery at `file`: read it and the next segments ahead, before recovery asks. */
  readAhead(host: string, source: string, file: string): void;
  /** Spools the segments fetched ahead for this source into `dir` (a restore's, owned by uid/gid) until closed: wal-spool.ts. */
  spool(host: string, source: string, dir: string, owner: { uid: number; gid: number }): { close(): Promise<void> };
  close(): Promise<void>;
}

/**
 * Segments fetched ahead of recovery (WalPrefetch): 4 x 16 MiB held at most, as
 * pgBackRest's archive-get queue; a replay of a segment takes about as long as
 * fetching one, so a few ahead keep recovery from waiting.
 */
const PREFETCH_DEPTH = 8;
const PREFETCH_TTL_MS = 60_000;

/** A WAL file is at most one segment; wal_segment_size is at most 1 GiB. */
const MAX_BODY_BYTES = 1024 * 1024 * 1024;

const STATUS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INTEGRITY: 409,
  FAILED_PRECONDITION: 412,
  CORRUPT: 422,
  WRONG_KEY: 422,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

export async function startLocalApi(o: LocalApiOptions): Promise<LocalApi> {
  const log = o.log.child({ component: 'local-api' });
  const dir = dirname(o.socketPath);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const dirInfo = await stat(dir);
  // Only adjust a directory we own alone (our own /run/pbk-agent), never a shared one like /tmp.
  if (o.gid !== undefined && dirInfo.uid === process.getuid?.() && (dirInfo.mode & 0o002) === 0) {
    await chown(dir, dirInfo.uid, o.gid).catch(() => undefined);
    await chmod(dir, 0o750).catch(() => undefined);
  }
  await rm(o.socketPath, { force: true });

  const refOf = (host: string, source: string): v1.SourceRef => ({ host, kind: 'SOURCE_KIND_POSTGRES', name: source });
  // WAL blobs open on worker threads (started at the first large one): see fetchWal.
  const pool = new OpenPool();
  /** Spools of running restores, by host/source. */
  const spools = new Map<string, Set<WalSpool>>();
  const prefetch = new WalPrefetch<Buffer[]>({
    onFetched: (host, source, file, pieces, ms) => {
      const set = spools.get(`${host}/${source}`);
      if (set === undefined) return;
      for (const s of set) void s.put(file, pieces);
      log.info({ host, source, file, fetchMs: ms }, 'wal segment spooled');
    },
    fetch: async (host, source, file, signal) => (await fetchWal(o.rpc, refOf(host, source), file, signal, { pool })).pieces,
    depth: PREFETCH_DEPTH,
    ttlMs: PREFETCH_TTL_MS,
    segmentBytes: WAL_SEGMENT_BYTES,
  });

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, err));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = (req.url ?? '').split('?')[0]!.split('/').filter((p) => p !== '').map(decodeURIComponent);
    if (parts[0] !== 'wal') throw new AgentError('NOT_FOUND', `no such local API path ${JSON.stringify(req.url)}`);
    if (req.method === 'PUT' && parts.length === 3) {
      const [, source, file] = parts as [string, string, string];
      if (!isArchiveName(file)) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(file)} is not a WAL file name`);
      const target = o.walTarget(source);
      if (target === undefined) {
        throw new AgentError(
          'NOT_FOUND',
          source === '_' ? 'wal-push without --source needs exactly one PostgreSQL source with WAL on this agent; give --source NAME' : `no PostgreSQL source named ${JSON.stringify(source)} with WAL is configured on this agent`,
        );
      }
      const body = await readBody(req);
      const started = Date.now();
      const r = await target.push(file, body);
      log.info({ source, file, bytes: body.length, alreadyHad: r.alreadyHad, ms: Date.now() - started }, 'wal-push stored');
      sendJson(res, 200, { alreadyHad: r.alreadyHad });
      return;
    }
    if (req.method === 'GET' && parts.length === 4) {
      const [, host, source, file] = parts as [string, string, string, string];
      if (!isArchiveName(file)) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(file)} is not a WAL file name`);
      const ref = refOf(host, source);
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const started = Date.now();
      const ahead = await prefetch.take(host, source, file);
      let complete = true;
      const pieces: Buffer[] =
        ahead ??
        (await fetchWal(o.rpc, ref, file, controller.signal, { pool }).then(
          (f) => f.pieces,
          async (err: unknown) => {
            // The newest segment is still growing (the stream's `.partial`): serve what is durable,
            // padded with zeros to a whole segment as pg_receivewal itself pads it. Recovery replays up
            // to the last complete record and stops there, so a target inside the open segment is reachable.
            if (codeOf(err) !== 'NOT_FOUND' || !isSegmentName(file)) throw err;
            const partial = await fetchWal(o.rpc, ref, file, controller.signal, { allowPartial: true, pool });
            if (partial.file.complete) return partial.pieces;
            complete = false;
            log.info({ host, source, file, bytes: partial.size }, 'wal-fetch serves the growing segment (partial, zero-padded)');
            return [padSegment(partial.data)];
          },
        ));
      // Recovery asks for the next segment as soon as this one is replayed: have it ready (never past a growing one).
      // Started once this one is sent: a fetch and decrypt on this thread would slow its 16 MiB through the socket,
      // which recovery waits for, while the segments already held cover the replay of this one.
      if (complete) res.once('finish', () => prefetch.after(host, source, file));
      const bytes = pieces.reduce((n, b) => n + b.length, 0);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
      for (const p of pieces) res.write(p);
      res.end();
      log.info({ host, source, file, bytes, ms: Date.now() - started, readAhead: ahead !== undefined }, 'wal-fetch served');
      return;
    }
    throw new AgentError('INVALID_ARGUMENT', `${req.method} ${req.url}: use PUT /wal/<source>/<file> or GET /wal/<host>/<source>/<file>`);
  }

  /** A growing segment's durable bytes, zero-padded to the segment size PostgreSQL expects of a restored file. */
  function padSegment(data: Buffer): Buffer {
    if (data.length >= WAL_SEGMENT_BYTES) return data;
    const out = Buffer.alloc(WAL_SEGMENT_BYTES);
    data.copy(out);
    return out;
  }

  function sendError(res: ServerResponse, err: unknown): void {
    const code = codeOf(err);
    const status = STATUS[code] ?? 500;
    if (code !== 'NOT_FOUND') log.warn({ code, err: messageOf(err) }, 'local API request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status, { code, message: messageOf(err) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(o.socketPath, 0o660);
  if (o.gid !== undefined) await chown(o.socketPath, process.getuid?.() ?? 0, o.gid).catch((err: unknown) => log.warn({ err: messageOf(err) }, 'cannot give the socket to the PostgreSQL group'));
  log.info({ socket: o.socketPath }, 'local API listening');
  return {
    socketPath: o.socketPath,
    readAhead: (host, source, file) => prefetch.from(host, source, file),
    spool: (host, source, dir, owner) => {
      const key = `${host}/${source}`;
      let s: WalSpool;
      try {
        s = new WalSpool({
          dir,
          ...owner,
          ttlMs: PREFETCH_TTL_MS,
          // Recovery took one: keep the window ahead of it full.
          onTaken: (file) => prefetch.after(host, source, file),
          onError: (file, err) => log.warn({ host, source, file, dir, err: messageOf(err) }, 'cannot spool a WAL segment; recovery fetches it through the socket'),
        });
      } catch (err) {
        log.warn({ host, source, dir, err: messageOf(err) }, 'no WAL spool for this restore; recovery fetches through the socket');
        return { close: async () => undefined };
      }
      const set = spools.get(key) ?? new Set<WalSpool>();
      set.add(s);
      spools.set(key, set);
      // What the restore's read-ahead already holds goes in at once.
      for (const h of prefetch.held(host, source)) {
        void h.data.then((d) => {
          if (d !== undefined) void s.put(h.file, d);
        });
      }
      return {
        close: async () => {
          set.delete(s);
          if (set.size === 0) spools.delete(key);
          await s.close();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        prefetch.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(async () => {
        await Promise.all([...spools.values()].flatMap((set) => [...set].map((s) => s.close())));
        await pool.close();
        await rm(o.socketPath, { force: true });
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY_BYTES) throw new AgentError('INVALID_ARGUMENT', `WAL file larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
