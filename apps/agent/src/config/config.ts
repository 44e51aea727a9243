/**
 * The agent's config: YAML on disk (docs/agent-config.md documents every
 * field) -> validated options -> defaults -> the compiled AgentConfig that
 * main.ts hands to the daemon. Env and files are read here only.
 *
 * Every problem in a file is reported at once, each naming its field
 * (`sources[1].paths[0]: must be an absolute path`), and unknown fields are
 * errors (a typo like `exlude` must not silently back up everything).
 */
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ADDRESS_HINT, parseAddress } from '../address.js';
import { ConfigError } from '../errors.js';
import { ExcludeMatcher, GlobError, compilePattern } from '../files/exclude.js';
import { PathSelection } from '../files/selection.js';
import { LOG_LEVELS, type LogLevel } from '../logger.js';
import { CronError, CronSchedule } from '../schedule/cron.js';
import { boolean, integer, isRecord, Problems, unknownFields } from './fields.js';
import { compilePostgresSource, type PostgresSourceConfig } from './postgres.js';
import { compileRedisSource, type RedisSourceConfig } from './redis.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * Defaults, each with its reason. docs/agent-config.md repeats them; a test
 * checks that every key here is documented there.
 */
export const DEFAULTS = {
  /** info: one line per run, trigger and failure; debug adds every RPC retry and watcher event. */
  logLevel: 'info' as LogLevel,
  /**
   * Chunk workers (threads hashing, compressing and sealing). Two, or one on a
   * single-core host: the agent shares the machine with the database it backs
   * up, and two workers already outrun a typical uplink.
   */
  workers: Math.max(1, Math.min(2, availableParallelism())),
  /** Until the coordinator's first answer names its own interval (HeartbeatResponse). */
  heartbeatIntervalMs: 10 * SECOND,
  /**
   * On SIGTERM, how long a running backup or restore may take to finish before
   * it is cancelled. Below systemd's default TimeoutStopSec (90 s), so the
   * agent stops by itself rather than being killed.
   */
  shutdownGraceMs: 30 * SECOND,
  /**
   * How long a backup run keeps resuming (reconnect, BeginBackup with
   * resume_run_id) while the coordinator is unreachable. A coordinator
   * restart takes seconds; an outage longer than this is an incident the
   * coordinator alerts on, and the next trigger starts a fresh run.
   */
  resumeWindowMs: 15 * MINUTE,
  /**
   * The daemon's local API socket (wal-push, wal-fetch; started only with a
   * PostgreSQL source). Not in the state dir: PostgreSQL's OS user runs those
   * commands and may not enter the state dir (0700); the socket's directory
   * gets mode 0750 and the socket 0660, both with the osUser's group.
   */
  localSocket: '/run/pbk-agent/agent.sock',
  source: {
    /** Nothing excluded unless asked. */
    exclude: [] as string[],
    /**
     * Off: every watched directory costs an inotify watch (a kernel-wide
     * limit, fs.inotify.max_user_watches); watching is a decision per source.
     */
    watch: false,
    /** An editor's save or a config-management run writes several files within a few hundred ms: one snapshot for all. */
    debounceMs: 500,
    /** Under changes that never pause, a snapshot still happens at least this often. */
    maxDelayMs: 10 * SECOND,
  },
} as const;

export type SourceKindName = 'files' | 'postgres' | 'redis';

export interface FilesSourceConfig {
  name: string;
  kind: 'files';
  /** Absolute, normalized, sorted, none inside another. */
  paths: readonly string[];
  exclude: readonly string[];
  selection: PathSelection;
  /** Cron (UTC) for full snapshots; undefined for none. */
  schedule: CronSchedule | undefined;
  watch: boolean;
  debounceMs: number;
  maxDelayMs: number;
  /** An incremental snapshot when the agent starts (catches changes made while it was down). */
  backupOnStart: boolean;
}

export type SourceConfig = FilesSourceConfig | PostgresSourceConfig | RedisSourceConfig;
export type { PostgresSourceConfig, RedisSourceConfig };

export interface AgentConfig {
  /** The file this came from (absolute), for messages. */
  file: string;
  stateDir: string;
  /** Overrides agent.json's coordinator (HOST:PORT of the mutual-TLS listener). */
  coordinator: string | undefined;
  logLevel: LogLevel;
  workers: number;
  heartbeatIntervalMs: number;
  shutdownGraceMs: number;
  resumeWindowMs: number;
  /** Absolute path of the local API socket (DEFAULTS.localSocket). */
  localSocket: string;
  sources: readonly SourceConfig[];
}

const TOP_FIELDS = ['state', 'coordinator', 'logLevel', 'workers', 'heartbeatIntervalMs', 'shutdownGraceMs', 'resumeWindowMs', 'localSocket', 'sources'] as const;
const SOURCE_FIELDS = ['name', 'kind', 'paths', 'exclude', 'schedule', 'watch', 'debounceMs', 'maxDelayMs', 'backupOnStart'] as const;
const SOURCE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KNOWN_KINDS = ['files', 'postgres', 'redis'];

/** Reads, parses and compiles a config file. */
export async function loadConfig(file: string): Promise<AgentConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(abs, undefined, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return parseConfig(text, abs);
}

/** Parses YAML text; `file` names it in errors and anchors relative paths (`state`). */
export function parseConfig(text: string, file: string): AgentConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, undefined, `is not valid YAML: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  }
  return compileConfig(doc.toJS() as unknown, file);
}


/** Validates a parsed document and applies the defaults. */
export function compileConfig(raw: unknown, file: string): AgentConfig {
  const problems = new Problems();
  const baseDir = dirname(file);
  if (raw === null || raw === undefined) raw = {};
  if (!isRecord(raw)) throw new ConfigError(file, undefined, 'must be a YAML mapping (state:, sources:, ...)');
  unknownFields(raw, TOP_FIELDS, '', problems);

  let stateDir = '';
  if (raw.state === undefined) problems.add('state', 'is required: the directory `pbk-agent enroll --state DIR` wrote');
  else if (typeof raw.state !== 'string' || raw.state.trim() === '') problems.add('state', 'must be a directory path');
  else stateDir = resolve(baseDir, raw.state);

  let coordinator: string | undefined;
  if (raw.coordinator !== undefined) {
    if (typeof raw.coordinator !== 'string' || parseAddress(raw.coordinator) === undefined) problems.add('coordinator', `must be ${ADDRESS_HINT}`);
    else coordinator = raw.coordinator.trim();
  }

  let logLevel: LogLevel = DEFAULTS.logLevel;
  if (raw.logLevel !== undefined) {
    if (typeof raw.logLevel !== 'string' || !(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) problems.add('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
    else logLevel = raw.logLevel as LogLevel;
  }

  const workers = integer(raw, 'workers', '', DEFAULTS.workers, 1, 64, problems);
  const heartbeatIntervalMs = integer(raw, 'heartbeatIntervalMs', '', DEFAULTS.heartbeatIntervalMs, SECOND, 10 * MINUTE, problems);
  const shutdownGraceMs = integer(raw, 'shutdownGraceMs', '', DEFAULTS.shutdownGraceMs, 0, 60 * MINUTE, problems);
  const resumeWindowMs = integer(raw, 'resumeWindowMs', '', DEFAULTS.resumeWindowMs, 0, 24 * 60 * MINUTE, problems);
  let localSocket: string = DEFAULTS.localSocket;
  if (raw.localSocket !== undefined) {
    if (typeof raw.localSocket !== 'string' || !isAbsolute(raw.localSocket) || raw.localSocket.includes('\0')) problems.add('localSocket', 'must be an absolute path for a unix socket');
    // Linux limits a socket path to 107 bytes.
    else if (Buffer.byteLength(raw.localSocket) > 107) problems.add('localSocket', 'must be at most 107 bytes long (a unix socket path limit)');
    else localSocket = raw.localSocket;
  }

  const sources: SourceConfig[] = [];
  if (raw.sources !== undefined && raw.sources !== null) {
    if (!Array.isArray(raw.sources)) {
      problems.add('sources', 'must be a list of sources (- name: ..., kind: files, paths: [...])');
    } else {
      const names = new Map<string, number>();
      raw.sources.forEach((s: unknown, i: number) => {
        const field = `sources[${i}]`;
        const compiled = compileSource(s, field, problems, baseDir, stateDir);
        if (compiled === undefined) return;
        const seen = names.get(compiled.name);
        if (seen !== undefined) problems.add(`${field}.name`, `${JSON.stringify(compiled.name)} is already the name of sources[${seen}]; names are unique per host`);
        else names.set(compiled.name, i);
        sources.push(compiled);
      });
    }
  }

  if (problems.list.length > 0) {
    const first = problems.list[0]!;
    const message =
      problems.list.length === 1
        ? first.message
        : `${problems.list.length} problems:\n${problems.list.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`;
    throw new ConfigError(file, problems.list.length === 1 ? first.field : undefined, message);
  }
  return { file, stateDir, coordinator, logLevel, workers, heartbeatIntervalMs, shutdownGraceMs, resumeWindowMs, localSocket, sources };
}

function compileSource(s: unknown, field: string, problems: Problems, baseDir = '/', stateDir = ''): SourceConfig | undefined {
  if (!isRecord(s)) {
    problems.add(field, 'must be a mapping with name, kind and paths');
    return undefined;
  }
  const before = problems.list.length;
  let name = '';
  if (typeof s.name !== 'string' || !SOURCE_NAME_RE.test(s.name)) {
    problems.add(`${field}.name`, s.name === undefined ? 'is required' : 'must be 1-63 letters, digits, ., -, _ (starting with a letter or digit)');
  } else name = s.name;
  if (s.kind === 'files' || s.kind === undefined) unknownFields(s, SOURCE_FIELDS, `${field}.`, problems);
  if (s.kind === undefined) problems.add(`${field}.kind`, `is required (${KNOWN_KINDS.join(', ')})`);
  else if (typeof s.kind !== 'string' || !KNOWN_KINDS.includes(s.kind)) problems.add(`${field}.kind`, `must be one of ${KNOWN_KINDS.join(', ')}`);
  if (problems.list.length > before) return undefined;
  if (s.kind === 'postgres') return compilePostgresSource(s, name, field, problems, { baseDir, stateDir });
  if (s.kind === 'redis') return compileRedisSource(s, name, field, problems, baseDir);

  const paths: string[] = [];
  if (!Array.isArray(s.paths) || s.paths.length === 0) {
    problems.add(`${field}.paths`, 'must be a non-empty list of absolute paths');
  } else {
    s.paths.forEach((p: unknown, j: number) => {
      const pf = `${field}.paths[${j}]`;
      if (typeof p !== 'string' || p.trim() === '') return problems.add(pf, 'must be an absolute path');
      if (!isAbsolute(p) || !p.startsWith('/')) return problems.add(pf, `must be an absolute path, got ${JSON.stringify(p)}`);
      if (p.includes('\0')) return problems.add(pf, 'may not contain NUL');
      if (p.split('/').includes('..')) return problems.add(pf, `may not contain '..' (${JSON.stringify(p)})`);
      const norm = posix.normalize(p).replace(/(.)\/+$/, '$1');
      const dup = paths.indexOf(norm);
      if (dup >= 0) return problems.add(pf, `repeats paths[${dup}] (${norm})`);
      paths.push(norm);
    });
    for (const a of paths) {
      for (const b of paths) {
        if (a !== b && (a === '/' || b.startsWith(`${a}/`))) {
          problems.add(`${field}.paths`, `${b} is inside ${a}: list only ${a} (use exclude to leave parts out)`);
        }
      }
    }
  }

  const exclude: string[] = [];
  if (s.exclude !== undefined && s.exclude !== null) {
    if (!Array.isArray(s.exclude)) problems.add(`${field}.exclude`, "must be a list of patterns, e.g. ['*.tmp', '**/cache/**']");
    else
      s.exclude.forEach((p: unknown, j: number) => {
        if (typeof p !== 'string') return problems.add(`${field}.exclude[${j}]`, 'must be a pattern string');
        try {
          compilePattern(p);
          exclude.push(p);
        } catch (err) {
          problems.add(`${field}.exclude[${j}]`, err instanceof GlobError ? err.message : String(err));
        }
      });
  }

  let schedule: CronSchedule | undefined;
  if (s.schedule !== undefined && s.schedule !== null) {
    if (typeof s.schedule !== 'string') problems.add(`${field}.schedule`, 'must be a cron string (5 fields, UTC), e.g. "0 2 * * *"');
    else {
      try {
        schedule = CronSchedule.parse(s.schedule);
        if (schedule.next(Date.now()) === undefined) problems.add(`${field}.schedule`, `${JSON.stringify(s.schedule)} never fires (no such date)`);
      } catch (err) {
        problems.add(`${field}.schedule`, err instanceof CronError ? err.message : String(err));
      }
    }
  }

  const watch = boolean(s, 'watch', `${field}.`, DEFAULTS.source.watch, problems);
  const debounceMs = integer(s, 'debounceMs', `${field}.`, DEFAULTS.source.debounceMs, 0, 10 * MINUTE, problems);
  const maxDelayMs = integer(s, 'maxDelayMs', `${field}.`, Math.max(DEFAULTS.source.maxDelayMs, debounceMs), 0, 60 * MINUTE, problems);
  if (maxDelayMs < debounceMs) problems.add(`${field}.maxDelayMs`, `must be at least debounceMs (${debounceMs})`);
  const backupOnStart = boolean(s, 'backupOnStart', `${field}.`, watch, problems);

  if (problems.list.length > before) return undefined;
  return {
    name,
    kind: 'files',
    paths: [...paths].sort(),
    exclude,
    selection: new PathSelection(paths, new ExcludeMatcher(exclude)),
    schedule,
    watch,
    debounceMs,
    maxDelayMs,
    backupOnStart,
  };
}

