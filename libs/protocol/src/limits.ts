/**
 * Wire limits shared by every pbk process, each with its reason. Servers and
 * clients take their options from here so both ends agree.
 */
import type { ChannelOptions, Server } from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Largest message either side accepts (grpc's own default). Blob traffic is cut
 * into BLOB_MESSAGE_BYTES messages, and the largest unary message (a full
 * MissingBlobs request) is ~350 KiB, so anything bigger is a bug or an attack
 * and fails with RESOURCE_EXHAUSTED before it is buffered.
 */
export const MAX_RECEIVE_MESSAGE_BYTES = 4 * MiB;

/** Same bound on sending, so an oversized message fails locally with a clear error instead of at the peer. */
export const MAX_SEND_MESSAGE_BYTES = 4 * MiB;

/**
 * Target payload per UploadBlobs/DownloadBlobs message. Measured on grpc-js 1.14
 * over mTLS loopback: ~435 MB/s with 1 MiB messages vs ~390 MB/s with 256 KiB;
 * larger ones add latency and memory without throughput. Chunks up to 8 MiB are
 * split into parts of this size (BlobPart), small blobs are batched up to it.
 */
export const BLOB_MESSAGE_BYTES = 1 * MiB;

/**
 * Largest sealed blob either side accepts: chunks are at most 8 MiB (DESIGN.md
 * decision 1), zstd never grows them by more than a little and stores them raw
 * when it would; the margin keeps a tuned chunker from breaking the wire. Also
 * caps what a peer can make the receiver allocate for one blob.
 */
export const MAX_SEALED_BLOB_BYTES = 16 * MiB;

/**
 * Ids per MissingBlobs call: 10 000 x (32-byte id + 2 bytes framing) is ~340 KiB,
 * well under the message limit, and one call covers ~10 GiB of 1 MiB chunks.
 */
export const MAX_IDS_PER_MISSING_BLOBS = 10_000;

/** Ids per DownloadBlobs call; the restore executor asks in batches so a broken stream costs little. */
export const MAX_IDS_PER_DOWNLOAD = 10_000;

/**
 * Sealed bytes an agent sends on one UploadBlobs stream before closing it; it
 * fills the next while the closed one's durable ack is outstanding, and waits
 * for that ack before closing the next. Bounds what a coordinator crash makes
 * the agent re-send (two streams) and keeps a stream well inside its
 * deadline; big enough that the per-stream pack flush (fsync) is amortised.
 */
export const UPLOAD_STREAM_TARGET_BYTES = 256 * MiB;

/**
 * Deadlines per call kind, in ms. gRPC deadlines are absolute, so streams also
 * get an idle timeout (below) that catches a stalled peer long before the deadline.
 */
export const DEADLINES = {
  /** Catalog reads and small writes (Status, ListSnapshots, GetSnapshot, BeginBackup, AbortBackup). */
  unary: 30 * SECOND,
  /** Enroll signs a certificate and writes the catalog; a human is waiting. */
  enroll: 30 * SECOND,
  /** Heartbeats are frequent; a slow one is as good as a missed one. */
  heartbeat: 10 * SECOND,
  /** 10 000 index lookups, possibly against a cold PostgreSQL index. */
  missingBlobs: 60 * SECOND,
  /** Commit checks that every referenced blob is durable before writing the snapshot. */
  commit: 5 * MINUTE,
  /** One upload stream carries UPLOAD_STREAM_TARGET_BYTES; even at 10 MB/s that is under 30 s. */
  uploadStream: 30 * MINUTE,
  /** One download batch of MAX_IDS_PER_DOWNLOAD blobs (up to ~10 GiB at 1 MiB chunks). */
  downloadStream: 2 * HOUR,
  /** Operator streams (StartBackup --wait, Restore, Verify): a restore or a full read-back of a large repository. */
  job: 24 * HOUR,
} as const;

/**
 * A stream with no message for this long is cancelled by whichever side notices
 * (DEADLINE_EXCEEDED): a stalled writer must not hold a run, a DEK or memory
 * until the absolute deadline.
 */
export const STREAM_IDLE_TIMEOUT_MS = 60 * SECOND;

/** How often long-running jobs send Progress, so a client's idle timer never fires on a healthy job. */
export const PROGRESS_INTERVAL_MS = 1 * SECOND;

/**
 * Client keepalive: ping after 30 s without traffic, give up after 10 s without
 * an answer. Detects a dead coordinator (or a NAT that dropped the flow) on the
 * long-lived Control stream within ~40 s; permitted without calls because that
 * stream may be idle for hours.
 */
export const CLIENT_KEEPALIVE = {
  timeMs: 30 * SECOND,
  timeoutMs: 10 * SECOND,
  permitWithoutCalls: true,
} as const;

/**
 * Server keepalive: ping idle clients every 60 s, drop them after 20 s silence,
 * so a vanished agent's Control stream (and its "connected" status) goes away
 * in about a minute and a half.
 */
export const SERVER_KEEPALIVE = {
  timeMs: 60 * SECOND,
  timeoutMs: 20 * SECOND,
} as const;

/** Reconnect backoff for agents and the CLI: quick first retry, capped so a returning coordinator is found within 30 s. */
export const RECONNECT_BACKOFF = { initialMs: 1 * SECOND, maxMs: 30 * SECOND } as const;

/**
 * HTTP/2 receive window (per stream and per connection) a client grants the
 * coordinator: the download side of SERVER_RECEIVE_WINDOW_BYTES. At the
 * default 64 KiB a 16 MiB WAL segment (GetWal) or a restore batch
 * (DownloadBlobs) waited for the agent's event loop to hand out more window
 * 256 times; with that loop busy writing a restore, one segment took
 * 0.5-1 s while both daemons were mostly idle.
 */
export const CLIENT_RECEIVE_WINDOW_BYTES = 8 * MiB;

/** grpc-js options for every pbk client channel. */
export function clientChannelOptions(): ChannelOptions {
  return {
    'grpc-node.flow_control_window': CLIENT_RECEIVE_WINDOW_BYTES,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': CLIENT_KEEPALIVE.timeMs,
    'grpc.keepalive_timeout_ms': CLIENT_KEEPALIVE.timeoutMs,
    'grpc.keepalive_permit_without_calls': CLIENT_KEEPALIVE.permitWithoutCalls ? 1 : 0,
    'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF.initialMs,
    'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF.maxMs,
  };
}

/** grpc-js options for every pbk server. */
export function serverOptions(): ChannelOptions {
  return {
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE.timeMs,
    'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE.timeoutMs,
  };
}

/**
 * HTTP/2 receive window (per stream and per connection) a server grants its
 * clients. The default 64 KiB lets an upload put 64 KiB on the wire before it
 * waits for the server's event loop to hand out more: on a loaded 2-core host
 * that wait, 16 times per 1 MiB message, was a large share of an upload's
 * time. 8 MiB keeps several messages in flight; it bounds what one connection
 * can make the server buffer.
 */
export const SERVER_RECEIVE_WINDOW_BYTES = 8 * MiB;

/**
 * Grants every client session of a bound `server` SERVER_RECEIVE_WINDOW_BYTES.
 * grpc-js has no server option for it (its flow-control option is client
 * only), so this reaches its http2 servers, which exist once bindAsync has
 * completed. Returns false (nothing changed, the default window stays) when
 * grpc-js no longer looks the way this expects.
 */
export function widenReceiveWindow(server: Server, bytes = SERVER_RECEIVE_WINDOW_BYTES): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  for (const h2 of servers.keys() as IterableIterator<EventEmitter>) {
    h2.on('session', (session: Http2Session) => {
      session.settings({ initialWindowSize: bytes });
      session.setLocalWindowSize(bytes);
    });
  }
  return true;
}

/** Absolute deadline for a call of the given kind, starting now (or at `now()`, for tests). */
export function deadlineFor(kind: keyof typeof DEADLINES, now: () => number = Date.now): Date {
  return new Date(now() + DEADLINES[kind]);
}
