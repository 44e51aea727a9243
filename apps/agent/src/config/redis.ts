/**
 * The redis source's part of the agent config (docs/agent-config.md, "Redis
 * sources"). Options -> defaults (REDIS_DEFAULTS, each with its reason) ->
 * the compiled RedisSourceConfig the redis/ folder works from. Every problem
 * is reported with its field; the password is only ever a reference (file or
 * env), read when a connection is made.
 */
import { ADDRESS_HINT, parseAddress } from '../address.js';
import type { CronSchedule } from '../schedule/cron.js';
import { absolutePath, boolean, cronField, integer, Problems, secretField, text, unknownFields, type SecretRef } from './fields.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const REDIS_DEFAULTS = {
  /**
   * Hourly: an RDB dump costs a fork and a full write of the dataset, so a
   * minute-level RPO is not what RDB is for; hourly matches the runbook and
   * dedup makes each dump cost only what changed.
   */
  schedule: '0 * * * *',
  /** A BGSAVE of tens of GiB takes minutes; past 30 min something is wrong (disk full, a stuck fork) and the run fails with what Redis says. */
  bgsaveTimeoutMs: 30 * MINUTE,
  /** Connect/command timeout: Redis answers in microseconds; 10 s covers a busy instance without hanging a run on a dead one. */
  connectTimeoutMs: 10 * SECOND,
  /** How often INFO persistence is polled while a BGSAVE runs: cheap, and a second is below the dump's own duration. */
  pollIntervalMs: 500,
  /** Off: the hourly schedule follows soon enough; turn on to get a dump right after every agent start. */
  backupOnStart: false,
} as const;

export interface RedisSourceConfig {
  name: string;
  kind: 'redis';
  /** HOST:PORT as written (also the key `pbk restore redis --into` is matched against). */
  address: string;
  host: string;
  port: number;
  /** ACL user (Redis 6+); undefined for the default user. */
  username: string | undefined;
  /** AUTH password: a file or an environment variable, never in the config. */
  password: SecretRef;
  /** TLS to Redis (system CAs). */
  tls: boolean;
  /** Cron (UTC) for dumps; undefined when off. */
  schedule: CronSchedule | undefined;
  /** Where the RDB file lives when CONFIG GET is renamed or disabled; undefined to ask Redis (dir + dbfilename). */
  rdbPath: string | undefined;
  bgsaveTimeoutMs: number;
  connectTimeoutMs: number;
  pollIntervalMs: number;
  backupOnStart: boolean;
}

const FIELDS = [
  'name',
  'kind',
  'address',
  'username',
  'password',
  'passwordFile',
  'passwordEnv',
  'tls',
  'schedule',
  'rdbPath',
  'bgsaveTimeoutMs',
  'connectTimeoutMs',
  'pollIntervalMs',
  'backupOnStart',
] as const;

/** `baseDir` anchors a relative passwordFile (the config file's directory). */
export function compileRedisSource(s: Record<string, unknown>, name: string, field: string, problems: Problems, baseDir = '/'): RedisSourceConfig | undefined {
  const before = problems.list.length;
  const prefix = `${field}.`;
  unknownFields(s, FIELDS, prefix, problems);
  const address = text(s, 'address', prefix, undefined, problems);
  const parsed = address === undefined ? undefined : parseAddress(address);
  if (address === undefined) problems.add(`${prefix}address`, `is required: ${ADDRESS_HINT.replace('7443', '6379')}`);
  else if (parsed === undefined) problems.add(`${prefix}address`, `must be ${ADDRESS_HINT.replace(/7443/g, '6379')}, got ${JSON.stringify(address)}`);
  const username = text(s, 'username', prefix, undefined, problems);
  const password = secretField(s, 'password', prefix, baseDir, problems);
  const tls = boolean(s, 'tls', prefix, false, problems);
  const schedule = cronField(s, 'schedule', prefix, REDIS_DEFAULTS.schedule, problems);
  const rdbPath = absolutePath(s, 'rdbPath', prefix, problems);
  if (rdbPath !== undefined && rdbPath.endsWith('/')) problems.add(`${prefix}rdbPath`, 'must name the RDB file (e.g. /var/lib/redis/dump.rdb), not a directory');
  const bgsaveTimeoutMs = integer(s, 'bgsaveTimeoutMs', prefix, REDIS_DEFAULTS.bgsaveTimeoutMs, SECOND, 24 * 60 * MINUTE, problems);
  const connectTimeoutMs = integer(s, 'connectTimeoutMs', prefix, REDIS_DEFAULTS.connectTimeoutMs, 100, 10 * MINUTE, problems);
  const pollIntervalMs = integer(s, 'pollIntervalMs', prefix, REDIS_DEFAULTS.pollIntervalMs, 10, MINUTE, problems);
  const backupOnStart = boolean(s, 'backupOnStart', prefix, REDIS_DEFAULTS.backupOnStart, problems);
  if (problems.list.length > before || parsed === undefined || address === undefined) return undefined;
  return {
    name,
    kind: 'redis',
    address: address.trim(),
    host: parsed.host,
    port: parsed.port,
    username,
    password,
    tls,
    schedule,
    rdbPath,
    bgsaveTimeoutMs,
    connectTimeoutMs,
    pollIntervalMs,
    backupOnStart,
  };
}

/** What `pbk-agent check-config` prints for this source (defaults applied, next schedule times; never secrets). */
export function describeRedisSource(c: RedisSourceConfig, now: number): Record<string, unknown> {
  const next = c.schedule?.next(now);
  return {
    name: c.name,
    kind: c.kind,
    address: c.address,
    ...(c.username !== undefined ? { username: c.username } : {}),
    password: c.password === undefined ? 'none' : 'file' in c.password ? `from file ${c.password.file}` : `from env ${c.password.env}`,
    tls: c.tls,
    schedule: c.schedule ? `${c.schedule.text} (UTC)` : 'off',
    ...(next !== undefined ? { nextScheduled: new Date(next).toISOString() } : {}),
    rdbPath: c.rdbPath ?? 'asked from Redis (CONFIG GET dir, dbfilename)',
    bgsaveTimeoutMs: c.bgsaveTimeoutMs,
    backupOnStart: c.backupOnStart,
  };
}
