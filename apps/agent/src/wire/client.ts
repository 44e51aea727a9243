/**
 * The agent's side of AgentService: one grpc-js channel over mutual TLS (the
 * state dir's CA, certificate and key), each unary call with the deadline
 * libs/protocol sets for its kind, failures turned into typed RemoteErrors
 * (fromGrpcStatus), and an AbortSignal that cancels the call.
 */
import { type ChannelCredentials, type ClientUnaryCall, type ClientDuplexStream, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, DEADLINES, fromGrpcStatus, loadProtocol, ProtocolError, type v1 } from '@pbk/protocol';
import type { Clock } from '../clock.js';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
type UnaryFn<Req, Res> = (req: Req, options: { deadline: Date }, cb: Callback<Res>) => ClientUnaryCall;

/** The calls the agent makes; sinks, readers and runs take only the part they need. */
export interface AgentRpc {
  heartbeat(req: v1.HeartbeatRequest, signal?: AbortSignal): Promise<v1.HeartbeatResponse__Output>;
  beginBackup(req: v1.BeginBackupRequest, signal?: AbortSignal): Promise<v1.BeginBackupResponse__Output>;
  missingBlobs(req: v1.MissingBlobsRequest, signal?: AbortSignal): Promise<v1.MissingBlobsResponse__Output>;
  commitBackup(req: v1.CommitBackupRequest, signal?: AbortSignal): Promise<v1.CommitBackupResponse__Output>;
  abortBackup(req: v1.AbortBackupRequest, signal?: AbortSignal): Promise<v1.AbortBackupResponse__Output>;
  getSnapshot(req: v1.GetSnapshotRequest, signal?: AbortSignal): Promise<v1.GetSnapshotResponse__Output>;
  /** One UploadBlobs stream; `response` settles once the coordinator has made every blob of it durable. */
  uploadBlobs(): { stream: ClientWritableStream<v1.UploadBlobsRequest>; response: Promise<v1.UploadBlobsResponse__Output> };
  downloadBlobs(req: v1.DownloadBlobsRequest): ClientReadableStream<v1.DownloadBlobsResponse__Output>;
  control(): ClientDuplexStream<v1.AgentMessage, v1.CoordinatorMessage__Output>;
  /** PostgreSQL WAL (postgres/wal/): record a WAL file's blobs, list them, stream one back. */
  putWal(req: v1.PutWalRequest, signal?: AbortSignal): Promise<v1.PutWalResponse__Output>;
  listWal(req: v1.ListWalRequest, signal?: AbortSignal): Promise<v1.ListWalResponse__Output>;
  getWal(req: v1.GetWalRequest): ClientReadableStream<v1.GetWalResponse__Output>;
  close(): void;
}

export interface ClientOptions {
  /** HOST:PORT of the coordinator's main (mutual TLS) listener. */
  target: string;
  /** Mutual TLS from the state dir; tests may pass other credentials. */
  tls: { caPem: string; certPem: string; keyPem: string } | { credentials: ChannelCredentials };
  clock: Clock;
}

export function connectAgentRpc(options: ClientOptions): AgentRpc {
  const { AgentService } = loadProtocol();
  const creds = 'credentials' in options.tls ? options.tls.credentials : channelCredentials(options.tls);
  const client = new AgentService(options.target, creds, clientChannelOptions()) as unknown as v1.AgentServiceClient;
  const deadline = (kind: keyof typeof DEADLINES): Date => new Date(options.clock.now() + DEADLINES[kind]);

  function unary<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, kind: keyof typeof DEADLINES, signal?: AbortSignal): Promise<Res> {
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    return new Promise<Res>((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const call = fn.call(client, req, { deadline: deadline(kind) }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(cancelled(signal));
        else if (err) reject(fromGrpcStatus(err));
        else if (res === undefined) reject(new ProtocolError('INTERNAL', 'the coordinator sent an empty answer'));
        else resolve(res);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    heartbeat: (req, signal) => unary(client.heartbeat as UnaryFn<typeof req, v1.HeartbeatResponse__Output>, req, 'heartbeat', signal),
    beginBackup: (req, signal) => unary(client.beginBackup as UnaryFn<typeof req, v1.BeginBackupResponse__Output>, req, 'unary', signal),
    missingBlobs: (req, signal) => unary(client.missingBlobs as UnaryFn<typeof req, v1.MissingBlobsResponse__Output>, req, 'missingBlobs', signal),
    commitBackup: (req, signal) => unary(client.commitBackup as UnaryFn<typeof req, v1.CommitBackupResponse__Output>, req, 'commit', signal),
    abortBackup: (req, signal) => unary(client.abortBackup as UnaryFn<typeof req, v1.AbortBackupResponse__Output>, req, 'unary', signal),
    getSnapshot: (req, signal) => unary(client.getSnapshot as UnaryFn<typeof req, v1.GetSnapshotResponse__Output>, req, 'unary', signal),
    uploadBlobs: () => {
      let stream!: ClientWritableStream<v1.UploadBlobsRequest>;
      const response = new Promise<v1.UploadBlobsResponse__Output>((resolve, reject) => {
        stream = client.uploadBlobs({ deadline: deadline('uploadStream') }, (err, res) => {
          if (err) reject(fromGrpcStatus(err));
          else if (res === undefined) reject(new ProtocolError('INTERNAL', 'the coordinator ended the upload without an answer'));
          else resolve(res);
        });
      });
      return { stream, response };
    },
    downloadBlobs: (req) => client.downloadBlobs(req, { deadline: deadline('downloadStream') }),
    // The control stream lives as long as the agent: no deadline; keepalive finds a dead peer.
    control: () => client.control(),
    // PutWal waits for the blobs' durability check, like a commit of a few hundred ids.
    putWal: (req, signal) => unary(client.putWal as UnaryFn<typeof req, v1.PutWalResponse__Output>, req, 'missingBlobs', signal),
    listWal: (req, signal) => unary(client.listWal as UnaryFn<typeof req, v1.ListWalResponse__Output>, req, 'unary', signal),
    getWal: (req) => client.getWal(req, { deadline: deadline('downloadStream') }),
    close: () => client.close(),
  };
}

function cancelled(signal: AbortSignal): unknown {
  return signal.reason ?? new ProtocolError('CANCELLED', 'the call was cancelled');
}
