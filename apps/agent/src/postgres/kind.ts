/**
 * The postgres kind as daemon/kinds.ts sees it: a PostgresSource (with its
 * WAL streamer) from the config, and the two restores of its snapshots
 * (point-in-time recovery from a base backup; a logical dump through
 * pg_restore). The restoring agent need not have the source configured (a
 * restore onto another host): it then uses the PostgreSQL programs it finds
 * and the default OS user.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { v1 } from '@pbk/protocol';
import type { BackupDeps } from '../backup/run.js';
import type { Clock } from '../clock.js';
import { findPgBinDir, POSTGRES_DEFAULTS, type PostgresSourceConfig } from '../config/postgres.js';
import type { AgentSource } from '../daemon/source.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RestoreDeps, RestoreRun } from '../restore/restore.js';
import type { AgentRpc } from '../wire/client.js';
import { runLogicalRestore } from './logical.js';
import { runPitrRestore, type PitrTools } from './restore.js';
import { validatePostgres } from './validate.js';
import { PostgresSource } from './source.js';
import { restoreCommandFor } from './wal/restore-command.js';
import { WalStreamer } from './wal/streamer.js';

export interface PostgresKindDeps {
  backup: BackupDeps;
  restore: RestoreDeps;
  clock: Clock;
  log: Logger;
  stateDir: string;
  /** The full agent RPC surface (the WAL stream needs PutWal/ListWal/GetWal); without it WAL streaming cannot run. */
  rpc?: AgentRpc;
  /** The daemon's local socket that wal-fetch / wal-push talk to. */
  localSocket?: string;
  /** Reads a restore's first WAL segments ahead in the daemon's local API (LocalApi.readAhead). */
  walReadAhead?(host: string, source: string, file: string): void;
  /** Spools the WAL fetched ahead for a running restore into `dir` (LocalApi.spool), when the local API runs. */
  walSpool?(host: string, source: string, dir: string, owner: { uid: number; gid: number }): { close(): Promise<void> } | undefined;
}

/** Until the config names one: the daemon's socket in its state directory. */
export function socketPathOf(deps: Pick<PostgresKindDeps, 'localSocket' | 'stateDir'>): string {
  return deps.localSocket ?? join(deps.stateDir, 'agent.sock');
}

/** How long a started restored server may take to replay to its target and promote. */
const RECOVERY_TIMEOUT_MS = 30 * 60_000;

export function createPostgresSource(config: PostgresSourceConfig, deps: PostgresKindDeps): AgentSource {
  let wal: WalStreamer | undefined;
  // Always made, also with wal.enabled false: it then runs no pg_receivewal but still takes
  // `wal-push` (archive_command) uploads, the fallback path of DESIGN decision 8.
  if (deps.rpc) {
    wal = new WalStreamer({
      config,
      host: deps.backup.host,
      rpc: deps.rpc,
      clock: deps.clock,
      log: deps.log,
      ...(deps.backup.onIdKey ? { onIdKey: deps.backup.onIdKey } : {}),
      ...(deps.backup.backoff ? { backoff: deps.backup.backoff } : {}),
    });
  } else if (config.wal.enabled) {
    throw new AgentError('INTERNAL', 'WAL streaming needs the agent RPC client; this daemon did not pass it');
  }
  return new PostgresSource(config, deps.backup, deps.clock, wal);
}

function configuredSource(sources: ReadonlyMap<string, AgentSource>, snap: v1.SnapshotInfo__Output | null | undefined): PostgresSourceConfig | undefined {
  const s = sources.get(snap?.source?.name ?? '');
  return s instanceof PostgresSource ? s.config : undefined;
}

function binDirFor(cfg: PostgresSourceConfig | undefined): string {
  const dir = cfg?.binDir ?? findPgBinDir();
  if (dir === undefined) throw new AgentError('FAILED_PRECONDITION', 'no PostgreSQL programs found under /usr/lib/postgresql/*/bin on this host: install the server package of the backed-up major version');
  return dir;
}

/**
 * The restore_command program as argv words: bin/wal-fetch.sh (curl for the common answers, ~0.05 s a
 * segment instead of a node start's 0.1-0.5 s) in front of dist/wal-fetch.js (src/wal-fetch.ts), which it
 * runs for everything else; the node entry alone when the script is missing; undefined when neither is there.
 */
function lightWalFetch(): string[] | undefined {
  const file = fileURLToPath(new URL('../wal-fetch.js', import.meta.url));
  if (!existsSync(file)) return undefined;
  const script = fileURLToPath(new URL('../../bin/wal-fetch.sh', import.meta.url));
  return existsSync(script) ? ['/bin/sh', script, process.execPath, file] : [process.execPath, file];
}

function pitrTools(deps: PostgresKindDeps, cfg: PostgresSourceConfig | undefined): PitrTools {
  const agentBin = [process.execPath, process.argv[1] ?? 'pbk-agent'];
  const walFetchBin = lightWalFetch();
  return {
    binDir: binDirFor(cfg),
    osUser: cfg?.osUser ?? POSTGRES_DEFAULTS.osUser,
    restoreCommand: (source, spoolDir) =>
      restoreCommandFor({ socketPath: socketPathOf(deps), host: source.host, source: source.name, agentBin, ...(walFetchBin ? { walFetchBin } : {}), ...(spoolDir !== undefined ? { spoolDir } : {}) }),
    readAheadWal: (source, file) => deps.walReadAhead?.(source.host, source.name, file),
    walSpool: (source, dir, owner) => deps.walSpool?.(source.host, source.name, dir, owner),
    connection: cfg ? { user: cfg.connection.user, password: cfg.connection.password } : undefined,
    clock: deps.clock,
    recoveryTimeoutMs: RECOVERY_TIMEOUT_MS,
  };
}

export function restorePostgres(deps: PostgresKindDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  const cfg = configuredSource(sources, cmd.snapshot);
  return runPitrRestore({ ...deps.restore, log: deps.log.child({ component: 'pg-restore' }) }, pitrTools(deps, cfg), cmd, run);
}

/** Restore test of a base backup (recovered to its own end, started, pg_amcheck) or a logical dump (table lists). */
export function validatePostgresSnapshot(deps: PostgresKindDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.ValidateCommand__Output, run: RestoreRun): Promise<v1.ValidationReport> {
  const cfg = configuredSource(sources, cmd.snapshot);
  return validatePostgres({ ...deps.restore, log: deps.log.child({ component: 'pg-validate' }) }, pitrTools(deps, cfg), cmd, run);
}

export function restorePostgresLogical(deps: PostgresKindDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  const cfg = configuredSource(sources, cmd.snapshot);
  return runLogicalRestore({ ...deps.restore, log: deps.log.child({ component: 'pg-logical-restore' }) }, { binDir: binDirFor(cfg), jobs: cfg?.jobs ?? POSTGRES_DEFAULTS.jobs }, cmd, run);
}
