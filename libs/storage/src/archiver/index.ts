export { archiveDirectory, backupDirectory, type ArchiveOptions, type ArchiveContext, type ArchiveResult, type BackupDirectoryOptions } from './archiver.js';
export { ChunkWorkerPool, type PoolStats } from './worker-pool.js';
export { type FileJob, type FileResult, type WorkerInit } from './messages.js';
export { SealPool, defaultSealWorkers, ownsMemory, type IdedChunk, type SealPoolOptions } from './seal-pool.js';
export { SealAheadGauge, SEAL_AHEAD_MISSING_SHARE, SEAL_AHEAD_WINDOW_CHUNKS } from './seal-ahead.js';
export { OpenPool, DEFAULT_OPEN_INLINE_BELOW, type OpenPoolOptions, type CheckedUpload } from './open-pool.js';
export { runOpenJob, type DeltaBase } from './open-job.js';
export { storeStream, TreeBuilder, type StreamContext, type StoredStream, type StreamPhases, type EntryMeta } from './stream.js';
