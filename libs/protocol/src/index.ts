/**
 * @pbk/protocol: the contract between pbk processes.
 *
 * - load.ts    protos/pbk/v1 loaded with @grpc/proto-loader; typed services; reflection
 * - tls.ts     the private CA, certificates, the pbk identity in a certificate, grpc-js credentials
 * - errors.ts  one error mapping across the wire, both directions (`pbk-code` metadata)
 * - limits.ts  deadlines, message sizes, keepalive: every number with its reason
 * - stream.ts  flow-controlled writes and idle timers for streams
 * - blobs.ts   framing of sealed blobs into ~1 MiB messages and back
 * - shared-ring.ts  reused shared memory for received blobs that worker threads read in place
 * - `v1`       every generated message type (`v1.SnapshotInfo__Output`, `v1.AgentServiceHandlers`)
 *
 * Imports no other @pbk lib.
 */
import type * as v1 from './generated/v1.js';

export type { v1 };
export { BackupMode } from './generated/pbk/v1/BackupMode.js';
export { BlobType } from './generated/pbk/v1/BlobType.js';
export { SourceKind } from './generated/pbk/v1/SourceKind.js';

export { addReflection, findProtosDir, loadProtocol, PROTO_FILES, PROTO_LOADER_OPTIONS, SERVICE_NAMES, type Protocol } from './load.js';

export {
  authorize,
  certificateFingerprint,
  channelCredentials,
  createCa,
  createKeyAndCsr,
  fetchPinnedCa,
  identityFromCall,
  identityUri,
  issueServerCert,
  peerIdentity,
  requireRole,
  ROLES,
  serverCredentials,
  signCsr,
  TLS_CIPHERS,
  writeCertificateFile,
  writePrivateKeyFile,
  type CallWithAuthContext,
  type KeyAndCert,
  type KeyAndCsr,
  type PeerIdentity,
  type Role,
} from './tls.js';

export {
  ERROR_CODES,
  fromGrpcStatus,
  grpcCodeOf,
  isErrorCode,
  isRetriable,
  PBK_CODE_METADATA_KEY,
  PermissionDeniedError,
  ProtocolError,
  RemoteError,
  toGrpcStatus,
  UnauthenticatedError,
  type ErrorCode,
  type GrpcErrorStatus,
  type GrpcServiceErrorLike,
} from './errors.js';

export {
  BLOB_MESSAGE_BYTES,
  CLIENT_KEEPALIVE,
  clientChannelOptions,
  DEADLINES,
  deadlineFor,
  MAX_IDS_PER_DOWNLOAD,
  MAX_IDS_PER_MISSING_BLOBS,
  MAX_RECEIVE_MESSAGE_BYTES,
  MAX_SEALED_BLOB_BYTES,
  MAX_SEND_MESSAGE_BYTES,
  PROGRESS_INTERVAL_MS,
  RECONNECT_BACKOFF,
  SERVER_KEEPALIVE,
  SERVER_RECEIVE_WINDOW_BYTES,
  serverOptions,
  STREAM_IDLE_TIMEOUT_MS,
  UPLOAD_STREAM_TARGET_BYTES,
  widenReceiveWindow,
} from './limits.js';

export { watchIdle, writeMessage, type IdleTimer } from './stream.js';

export { BlobAssembler, BlobMessageBatcher, type BlobAllocator, type BlobMemory, type WireBlob, type WireBlobType } from './blobs.js';
export { SharedRing } from './shared-ring.js';
