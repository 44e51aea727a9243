/**
 * WAL streaming and archiving of PostgreSQL sources (docs/postgres.md, "WAL
 * streaming"), for the rest of the postgres source:
 *
 * - WalStreamer: slot + supervised pg_receivewal + upload of the growing
 *   segment; health facts for heartbeats; waitDurable(lsn) for callers that
 *   must know a position is safe (base backups, benchmarks).
 * - restoreCommandFor / restoreCommandSetting: the restore_command a PITR
 *   restore writes; archiveCommandFor: the archive_command fallback.
 * - startLocalApi (local-api/): the daemon's unix socket that wal-push and
 *   wal-fetch talk to.
 */
export { WalStreamer, type WalHealth, type WalStreamerOptions, type ReceiverState } from './streamer.js';
export { restoreCommandFor, restoreCommandSetting, archiveCommandFor, shellQuote, type RestoreCommandOptions } from './restore-command.js';
export { fetchWal, WalCorruptError, type FetchedWal } from './fetch.js';
export { WalUploader, GrowingFile, WAL_PIECE_BYTES, type WalRpc, type WalPutResult } from './uploader.js';
export { parseLsn, formatLsn, segmentName, segmentStart, isSegmentName, isHistoryName, type Lsn } from './names.js';
export { startLocalApi, type LocalApi, type LocalApiOptions, type WalPushTarget } from '../../local-api/server.js';
export { DEFAULT_LOCAL_SOCKET } from '../../local-api/client.js';
