/**
 * What the daemon does per source kind: which Source object a configured
 * source becomes, how a restore of a kind's snapshot finishes (recovery
 * config, a server started and checked), and how a kind's snapshot is
 * validated. Each kind's code lives in its own folder (files/, postgres/,
 * redis/); this is the one place that lists them.
 */
import type { v1 } from '@pbk/protocol';
import type { BackupDeps } from '../backup/run.js';
import type { Clock } from '../clock.js';
import type { SourceConfig } from '../config/config.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { FilesSource, type AgentSource } from './source.js';
import { createPostgresSource, restorePostgres, restorePostgresLogical, validatePostgresSnapshot } from '../postgres/kind.js';
import type { AgentRpc } from '../wire/client.js';
import { restoreRedis } from '../redis/restore.js';
import { RedisSource } from '../redis/source.js';
import { validateRedis } from '../redis/validate.js';

export interface KindDeps {
  backup: BackupDeps;
  restore: RestoreDeps;
  clock: Clock;
  log: Logger;
  /** The agent's state directory (spools, sockets). */
  stateDir: string;
  /** The whole agent RPC client (the PostgreSQL WAL stream needs PutWal/ListWal/GetWal). */
  rpc?: AgentRpc;
  /** The daemon's local socket (wal-fetch, wal-push); default <stateDir>/agent.sock. */
  localSocket?: string;
  /** Reads a restore's first WAL segments ahead in the local API (LocalApi.readAhead), when it runs. */
  walReadAhead?(host: string, source: string, file: string): void;
  /** Spools the WAL fetched ahead for a running restore into `dir` (LocalApi.spool), when the local API runs. */
  walSpool?(host: string, source: string, dir: string, owner: { uid: number; gid: number }): { close(): Promise<void> } | undefined;
}

export function createSource(config: SourceConfig, deps: KindDeps): AgentSource {
  switch (config.kind) {
    case 'files':
      return new FilesSource(config, deps.backup, deps.clock);
    case 'redis':
      return new RedisSource(config, deps.backup, deps.clock);
    case 'postgres':
      return createPostgresSource(config, deps);
    default:
      throw new AgentError('FAILED_PRECONDITION', `${(config as SourceConfig).kind} sources are not supported by this agent version yet`);
  }
}

/**
 * Executes a RestoreCommand: a plain tree restore, or the kind's own restore
 * when the command carries its options. The kind's restore may use the
 * plain one (`restoreTree`) for its files.
 */
export async function restoreByKind(deps: KindDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  switch (cmd.kindOptions) {
    case undefined:
      return runRestore(deps.restore, cmd, run);
    case 'redis':
      return restoreRedis(deps.restore, sources, cmd, run);
    case 'postgres':
      return restorePostgres(deps, sources, cmd, run);
    case 'postgresLogical':
      return restorePostgresLogical(deps, sources, cmd, run);
    default:
      void sources;
      throw new AgentError('FAILED_PRECONDITION', `this agent cannot do a ${cmd.kindOptions} restore yet; upgrade it`);
  }
}

/** Executes a ValidateCommand: the snapshot's kind decides the checks. */
export async function validateByKind(deps: KindDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.ValidateCommand__Output, run: RestoreRun): Promise<v1.ValidationReport> {
  const kind = cmd.snapshot?.source?.kind;
  if (kind === 'SOURCE_KIND_REDIS') return validateRedis(deps.restore, cmd, run);
  if (kind === 'SOURCE_KIND_POSTGRES') return validatePostgresSnapshot(deps, sources, cmd, run);
  void deps;
  void sources;
  void run;
  throw new AgentError('FAILED_PRECONDITION', `this agent cannot validate ${kind ?? 'unknown'} snapshots yet`);
}
