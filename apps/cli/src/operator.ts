/**
 * The coordinator's OperatorService as the commands use it: every call with a
 * deadline from the protocol lib, cancelled when the signal aborts (Ctrl-C),
 * long streams also cancelled when the coordinator goes quiet, and every
 * failure turned into a typed error before it reaches a command.
 */
import { Metadata, status as GrpcStatus, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  channelCredentials,
  clientChannelOptions,
  DEADLINES,
  deadlineFor,
  fromGrpcStatus,
  loadProtocol,
  PBK_CODE_METADATA_KEY,
  STREAM_IDLE_TIMEOUT_MS,
  type RemoteError,
  type v1,
} from '@pbk/protocol';
import { diagnoseConnection, type Address } from './connection.js';
import type { Credentials } from './credentials.js';
import { CommandError, InterruptedError } from './errors.js';

/** What commands may ask of the coordinator (a narrow interface: commands never see grpc-js). */
export interface Operator {
  status(): Promise<v1.StatusResponse__Output>;
  listSnapshots(request: v1.ListSnapshotsRequest): Promise<v1.ListSnapshotsResponse__Output>;
  startBackup(request: v1.StartBackupRequest): AsyncIterable<v1.StartBackupUpdate__Output>;
  restore(request: v1.RestoreRequest): AsyncIterable<v1.RestoreUpdate__Output>;
  verify(request: v1.VerifyRequest): AsyncIterable<v1.VerifyUpdate__Output>;
  validate(request: v1.ValidateRequest): AsyncIterable<v1.ValidateUpdate__Output>;
  compactRepository(request: v1.CompactRepositoryRequest): Promise<v1.CompactRepositoryResponse__Output>;
  close(): void;
}

export interface OperatorOptions {
  address: Address;
  credentials: Credentials;
  signal: AbortSignal;
  /** Cancels a stream that delivers nothing for this long (the coordinator sends progress every second). */
  idleTimeoutMs?: number;
}

type UnaryFn<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: Date }, callback: (err: ServiceError | null, res?: Res) => void) => { cancel(): void };

export function connectOperator(options: OperatorOptions): Operator {
  const { address, credentials, signal } = options;
  const idleMs = options.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS;
  const { OperatorService } = loadProtocol();
  const client = new OperatorService(
    address.target,
    channelCredentials({ caPem: credentials.caPem, certPem: credentials.certPem, keyPem: credentials.keyPem }),
    clientChannelOptions(),
  );

  const unary = <Req, Res>(fn: unknown, request: Req, deadline: 'unary' | 'commit' = 'unary'): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      if (signal.aborted) return reject(new InterruptedError());
      const onAbort = (): void => call.cancel();
      const call = (fn as UnaryFn<Req, Res>).call(client, request, new Metadata(), { deadline: deadlineFor(deadline) }, (err, res) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(new InterruptedError());
        else if (err) translate(err, 'unary').then(reject, reject);
        else resolve(res as Res);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });

  /** Yields a server stream's messages; the stream is cancelled if the consumer stops early. */
  async function* follow<T>(open: (deadline: Date) => ClientReadableStream<T>, kind: 'unary' | 'job'): AsyncGenerator<T> {
    if (signal.aborted) throw new InterruptedError();
    const call = open(deadlineFor(kind));
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        call.cancel();
      }, idleMs);
    };
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
    try {
      for await (const message of call) {
        arm();
        yield message as T;
      }
    } catch (err) {
      if (signal.aborted) throw new InterruptedError();
      if (idle) {
        throw new CommandError('DEADLINE_EXCEEDED', `the coordinator sent nothing for ${Math.round(idleMs / 1000)} s; the call was abandoned (the job may still be running: see pbk status)`);
      }
      throw await translate(err as ServiceError, kind);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      call.cancel(); // a no-op once the stream has ended
    }
  }

  /** A failure as a typed error; transport failures are diagnosed once (see connection.ts). */
  async function translate(err: ServiceError, kind: 'unary' | 'job'): Promise<Error> {
    if (typeof err?.code !== 'number') return err;
    const remote: RemoteError = fromGrpcStatus(err);
    const fromCoordinator = remote.metadata.get(PBK_CODE_METADATA_KEY).length > 0;
    if (fromCoordinator) return remote;
    if (remote.grpcCode === GrpcStatus.DEADLINE_EXCEEDED) {
      return new CommandError('DEADLINE_EXCEEDED', `the coordinator at ${address.target} did not answer within ${Math.round(DEADLINES[kind] / 1000)} s`, { cause: err });
    }
    if (remote.grpcCode !== GrpcStatus.UNAVAILABLE) return remote;
    const d = await diagnoseConnection(address, credentials);
    switch (d.kind) {
      case 'unreachable':
        return new CommandError(
          'UNAVAILABLE',
          `cannot reach the coordinator at ${address.target} (${d.detail}): is pbk-coordinator serve running there? check --coordinator / PBK_COORDINATOR`,
          { cause: err },
        );
      case 'server-untrusted':
        return new CommandError(
          'UNAUTHENTICATED',
          `the coordinator at ${address.target} presented a certificate that ${credentials.dir}/ca.pem does not accept (${d.detail}): wrong credentials directory, or not the coordinator you meant`,
          { cause: err },
        );
      case 'client-rejected':
        return new CommandError(
          'UNAUTHENTICATED',
          `the coordinator at ${address.target} refused the client certificate in ${credentials.dir} (${d.detail}): it was not issued by this coordinator's CA, or was revoked`,
          { cause: err },
        );
      case 'ok':
        return new CommandError('UNAVAILABLE', `the coordinator at ${address.target} is reachable but the call failed: ${remote.message}`, { cause: err });
    }
  }

  return {
    status: () => unary<v1.StatusRequest, v1.StatusResponse__Output>(client.status, {}),
    listSnapshots: (request) => unary<v1.ListSnapshotsRequest, v1.ListSnapshotsResponse__Output>(client.listSnapshots, request),
    // Without wait the stream ends after `accepted`: a short call, so the short deadline.
    startBackup: (request) => follow((deadline) => client.startBackup(request, { deadline }), request.wait ? 'job' : 'unary'),
    restore: (request) => follow((deadline) => client.restore(request, { deadline }), 'job'),
    verify: (request) => follow((deadline) => client.verify(request, { deadline }), 'job'),
    validate: (request) => follow((deadline) => client.validate(request, { deadline }), 'job'),
    // A run copies up to 1 GiB of small packs: the commit deadline (minutes), not a catalog read's.
    compactRepository: (request) => unary<v1.CompactRepositoryRequest, v1.CompactRepositoryResponse__Output>(client.compactRepository, request, 'commit'),
    close: () => client.close(),
  };
}
