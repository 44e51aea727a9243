/**
 * @pbk/storage: the content-addressed, deduplicated, encrypted repository.
 * Layers, lowest first (each imports only those below it):
 *   backend/ (bytes by name) < pack/, index/, keys/ < blob/, repository/ < snapshot/, wal/ < archiver/, restore/, verify/, gc/, compact/
 * The on-disk format is specified in docs/repository-format.md.
 */
export {
  StorageError,
  NotFoundError,
  NoSpaceError,
  BackendPermissionError,
  TransientBackendError,
  CancelledError,
  PackCorruptError,
  BlobCorruptError,
  BlobMissingError,
  ObjectCorruptError,
  UnsafePathError,
  type StorageErrorCode,
} from './errors.js';
export { silentLogger, type Logger } from './logger.js';
export { type Backend, type ByteRange, type ObjectInfo, type OpOptions } from './backend/backend.js';
export { LocalBackend, RetryingBackend, ThrottledBackend, wrapBackend } from './backend/index.js';
export { Chunker, FixedChunker, chunkStream, cutPoints, DEFAULT_CHUNKER_OPTIONS, validateChunkerOptions, type ChunkerOptions } from './chunker/index.js';
export { PackBuilder, readPackEntries, packName, packIdFromName, type PackEntry, type BlobType, type SealedBlob } from './pack/index.js';
export { BlobIndex, type IndexEntry } from './index/index.js';
export { KeyRing, type KekInput, type MasterKeys, type KeyAccessEvent, type KeyAccessHook } from './keys/index.js';
export { sealChunk, openChunk, makeBlob, sealDeltaChunk, DELTA_MAX_SHARE } from './blob/index.js';
export { Repository, type RepositoryOptions, type InitOptions, type RepositoryConfig } from './repository/index.js';
export {
  saveSnapshot,
  loadSnapshot,
  listSnapshots,
  findSnapshot,
  resolveSnapshotId,
  saveTree,
  loadTree,
  encodeTree,
  decodeTree,
  type BlobSink,
  type Snapshot,
  type SnapshotWithId,
  type SnapshotSummary,
  type SourceRef,
  type SourceKind,
  type Tree,
  type TreeEntry,
} from './snapshot/index.js';
export {
  archiveDirectory,
  backupDirectory,
  storeStream,
  SealPool,
  SealAheadGauge,
  OpenPool,
  DEFAULT_OPEN_INLINE_BELOW,
  defaultSealWorkers,
  TreeBuilder,
  type ArchiveOptions,
  type ArchiveContext,
  type ArchiveResult,
  type BackupDirectoryOptions,
  type StreamContext,
  type StoredStream,
  type StreamPhases,
  type SealPoolOptions,
  type OpenPoolOptions,
  type CheckedUpload,
  type DeltaBase,
  runOpenJob,
  type EntryMeta,
} from './archiver/index.js';
export { restoreSnapshot, type PlannedFile, type RestoreOptions, type RestoreStats } from './restore/index.js';
export { verifyRepository, repairIndex, type VerifyOptions, type VerifyReport, type Problem, type ProblemKind, type RepairIndexReport } from './verify/index.js';
export { collectGarbage, type GcOptions, type GcReport } from './gc/index.js';
export { Compactor, COMPACT_DEFAULTS, type CompactOptions, type CompactReport } from './compact/index.js';
export {
  saveWalManifest,
  loadWalManifests,
  encodeWalManifest,
  decodeWalManifest,
  walFileKey,
  type WalManifest,
  type WalManifestFile,
  type WalManifestSet,
} from './wal/index.js';
