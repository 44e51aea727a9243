/**
 * The coordinator's configuration: the data directory layout
 * (docs/agent-coordinator.md), `DIR/coordinator.json`, and the
 * options -> defaults -> compiled pipeline for `serve`. Only this module and
 * the commands read files or the environment; services get a compiled config.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoordinatorError } from './errors.js';
import { formatHostPort, parseHostPort } from './args.js';
import { checkMqttUrl, type MqttSettings } from './alerts.js';

/** Where everything lives inside DIR (the contract doc's table). */
export interface DataPaths {
  dir: string;
  config: string;
  tlsDir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  kek: string;
  tokenKey: string;
  /** Host token revocations (`token --revoke`), one JSON line each. */
  revokedTokens: string;
  adminDir: string;
  adminCa: string;
  adminCert: string;
  adminKey: string;
  catalog: string;
  repository: string;
  /** Written by a running `serve`: the addresses it really bound (port 0 resolved). */
  serveState: string;
}

export function dataPaths(dir: string): DataPaths {
  return {
    dir,
    config: join(dir, 'coordinator.json'),
    tlsDir: join(dir, 'tls'),
    caCert: join(dir, 'tls', 'ca.pem'),
    caKey: join(dir, 'tls', 'ca.key'),
    serverCert: join(dir, 'tls', 'server.pem'),
    serverKey: join(dir, 'tls', 'server.key'),
    kek: join(dir, 'kek.key'),
    tokenKey: join(dir, 'token.key'),
    revokedTokens: join(dir, 'revoked-tokens.jsonl'),
    adminDir: join(dir, 'admin'),
    adminCa: join(dir, 'admin', 'ca.pem'),
    adminCert: join(dir, 'admin', 'client.pem'),
    adminKey: join(dir, 'admin', 'client.key'),
    catalog: join(dir, 'catalog'),
    repository: join(dir, 'repository'),
    serveState: join(dir, 'serve.json'),
  };
}

/** `DIR/coordinator.json` (mode 0600: it may hold a catalog URL with a password). */
export interface FileConfig {
  listen: string;
  enrollListen: string;
  http: string;
  region: string;
  /** A PostgreSQL URL; the embedded catalog in DIR/catalog when absent. */
  catalogUrl?: string;
  /** MQTT broker for alerts (mqtts://host:8883, or mqtt:// on this host); no alerts over MQTT when absent. */
  mqttUrl?: string;
  /** CA bundle for an mqtts:// broker with a private CA. */
  mqttCaFile?: string;
  /** Topic prefix (default "pbk"). */
  mqttTopicPrefix?: string;
  /**
   * zstd level agents compress data blobs at (COMPRESSION_LEVELS): negative
   * levels are zstd's fast ones (less CPU on the database host, a few percent
   * more bytes stored). Default SERVE_DEFAULTS.compressionLevel.
   */
  compressionLevel?: number;
  /** Repository maintenance (maintenance.ts); each field defaults as in MAINTENANCE_DEFAULTS. */
  maintenance?: {
    /** Seconds between compaction runs; 0: only on demand (pbk repo compact). */
    intervalSeconds?: number;
    /** Packs younger than this are not compacted yet. */
    compactGraceSeconds?: number;
    /** Replaced packs are deleted this long after compaction. */
    deleteDelaySeconds?: number;
    /** Fewer small packs than this are not worth a run. */
    minPacks?: number;
  };
}

export const DEFAULT_FILE_CONFIG: FileConfig = {
  // Loopback by default: exposing the coordinator is a decision, not an accident.
  listen: '127.0.0.1:7443',
  enrollListen: '127.0.0.1:7444',
  http: '127.0.0.1:7480',
  region: 'default',
};

/** Environment variable that overrides `catalogUrl` (so a password need not sit in a file). */
export const CATALOG_URL_ENV = 'PBK_CATALOG_URL';
/** Environment variables for alerts: the broker URL (overrides mqttUrl) and its password (only ever from here). */
export const MQTT_URL_ENV = 'PBK_MQTT_URL';
export const MQTT_PASSWORD_ENV = 'PBK_MQTT_PASSWORD';

/** The zstd levels an operator may pick: zstd's fast levels up to 19 (0 means "unset" on the wire). */
export const COMPRESSION_LEVELS = { min: -7, max: 19 } as const;

export function checkCompressionLevel(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v === 0 || v < COMPRESSION_LEVELS.min || v > COMPRESSION_LEVELS.max) {
    throw new CoordinatorError('INVALID_ARGUMENT', `${what} must be a zstd level from ${COMPRESSION_LEVELS.min} to ${COMPRESSION_LEVELS.max} other than 0 (negative: faster, larger), not ${JSON.stringify(v)}`);
  }
  return v;
}

export async function readFileConfig(path: string): Promise<FileConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CoordinatorError('FAILED_PRECONDITION', `${path} does not exist: this is not an initialized data directory; run 'pbk-coordinator init --data DIR' first`);
    }
    throw new CoordinatorError('FAILED_PRECONDITION', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: Partial<FileConfig>;
  try {
    raw = JSON.parse(text) as Partial<FileConfig>;
  } catch (err) {
    throw new CoordinatorError('INVALID_ARGUMENT', `${path} is not valid JSON: fix it by hand (${(err as Error).message})`, { cause: err });
  }
  const config: FileConfig = { ...DEFAULT_FILE_CONFIG };
  for (const key of ['listen', 'enrollListen', 'http', 'region', 'catalogUrl', 'mqttUrl', 'mqttCaFile', 'mqttTopicPrefix'] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v === '') throw new CoordinatorError('INVALID_ARGUMENT', `${path}: "${key}" must be a non-empty string`);
    config[key] = v;
  }
  if (raw.compressionLevel !== undefined && raw.compressionLevel !== null) config.compressionLevel = checkCompressionLevel(`${path}: "compressionLevel"`, raw.compressionLevel);
  if (raw.maintenance !== undefined && raw.maintenance !== null) {
    const m = raw.maintenance as Record<string, unknown>;
    if (typeof m !== 'object' || Array.isArray(m)) throw new CoordinatorError('INVALID_ARGUMENT', `${path}: "maintenance" must be an object`);
    const out: NonNullable<FileConfig['maintenance']> = {};
    for (const key of ['intervalSeconds', 'compactGraceSeconds', 'deleteDelaySeconds', 'minPacks'] as const) {
      const v = m[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new CoordinatorError('INVALID_ARGUMENT', `${path}: "maintenance.${key}" must be a number >= 0`);
      out[key] = v;
    }
    const unknown = Object.keys(m).filter((k) => !['intervalSeconds', 'compactGraceSeconds', 'deleteDelaySeconds', 'minPacks'].includes(k));
    if (unknown.length > 0) throw new CoordinatorError('INVALID_ARGUMENT', `${path}: unknown "maintenance" field(s) ${unknown.join(', ')}`);
    config.maintenance = out;
  }
  for (const key of ['listen', 'enrollListen', 'http'] as const) {
    try {
      parseHostPort(`${path}: "${key}"`, config[key]);
    } catch (err) {
      throw new CoordinatorError('INVALID_ARGUMENT', (err as Error).message);
    }
  }
  return config;
}

/** What `serve` may be told beyond the data directory; everything has a default below. */
export interface ServeOptions {
  dataDir: string;
  listen?: string;
  enrollListen?: string;
  http?: string;
  catalogUrl?: string;
  mqttUrl?: string;
  region?: string;
  heartbeatIntervalMs?: number;
  commandAckTimeoutMs?: number;
  agentReconnectGraceMs?: number;
  runIdleTimeoutMs?: number;
  commitWaitMs?: number;
  rpoTargetMs?: number;
  agentCertValidDays?: number;
  compressionLevel?: number;
  packTargetBytes?: number;
  referencedCacheSnapshots?: number;
  shutdownGraceMs?: number;
  now?: () => Date;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Every default, with its reason. */
export const SERVE_DEFAULTS = {
  /** Often enough that "connected" and last-heartbeat figures are fresh; one missed beat never matters (decision 15). */
  heartbeatIntervalMs: 15 * SECOND,
  /** An agent acks a command at once (before any work); 30 s covers a busy event loop on a loaded host. */
  commandAckTimeoutMs: 30 * SECOND,
  /** Agents reconnect with backoff capped at 30 s (RECONNECT_BACKOFF); two attempts and slack before a command is declared lost. */
  agentReconnectGraceMs: 90 * SECOND,
  /** An upload stream lasts at most 30 min (DEADLINES.uploadStream) and agents retry within 30 s: an hour of silence means the agent is gone; its claims are released and the run abandoned. */
  runIdleTimeoutMs: 1 * HOUR,
  /** How long a commit waits for blobs another run claimed (and is uploading) before failing so the agent uploads them itself. */
  commitWaitMs: 30 * SECOND,
  /** Daily backups (the runbook's schedule) plus slack: a source older than this is "late". */
  rpoTargetMs: 26 * HOUR,
  /** A year: agents re-enroll with a fresh token well before; short enough that a forgotten host's certificate dies. */
  agentCertValidDays: 365,
  /** zstd level 1: ~370 MB/s per core on the 2-core agents (ENVIRONMENT.md); higher levels cost CPU they do not have. */
  compressionLevel: 1,
  /** Storage's own default (32 MiB packs). */
  packTargetBytes: 32 * 1024 * 1024,
  /** Snapshots whose referenced-id set is kept for DownloadBlobs checks; a restore reads one snapshot at a time. */
  referencedCacheSnapshots: 4,
  /** In-flight calls get this long to finish on SIGTERM before they are cut (systemd's stop timeout is 90 s). */
  shutdownGraceMs: 20 * SECOND,
} as const;

/**
 * Maintenance defaults, with their reasons. Under constant writes PutWal
 * closes up to ~4 packs a second: every 10 min a run merges ~2400 of them
 * (tens of MiB copied, about a second of work), so small packs on disk stay
 * bounded by about rate x (grace + interval + delete delay): ~7000 at 4 a
 * second with these defaults, instead of ~350,000 a day unmerged.
 */
export const MAINTENANCE_DEFAULTS = {
  /** Often enough that small packs never pile up into the hundreds of thousands, rare enough to cost little. */
  intervalSeconds: 600,
  /** Packs of the last 10 min are left for the next run: each pack is then copied once, not once per run. */
  compactGraceSeconds: 600,
  /** A restore or GetWal stream looks a blob up just before reading it: minutes are ample. */
  deleteDelaySeconds: 600,
  /** Fewer small packs are not worth the index rewrite. */
  minPacks: 8,
} as const;

export interface CompiledServeConfig {
  paths: DataPaths;
  listen: string;
  enrollListen: string;
  http: string;
  region: string;
  catalogUrl: string | undefined;
  /** Alerts over MQTT; undefined when no broker is configured (alerts are still logged and counted). */
  mqtt: MqttSettings | undefined;
  heartbeatIntervalMs: number;
  commandAckTimeoutMs: number;
  agentReconnectGraceMs: number;
  runIdleTimeoutMs: number;
  commitWaitMs: number;
  rpoTargetMs: number;
  agentCertValidDays: number;
  compressionLevel: number;
  packTargetBytes: number;
  referencedCacheSnapshots: number;
  shutdownGraceMs: number;
  maintenance: { intervalMs: number; compactGraceMs: number; compactDeleteDelayMs: number; compactMinPacks: number };
  now: () => Date;
}

/** Flags win over coordinator.json, the environment's catalog URL over the file's. */
export function compileServeConfig(options: ServeOptions, file: FileConfig, env: NodeJS.ProcessEnv): CompiledServeConfig {
  const pick = <K extends keyof typeof SERVE_DEFAULTS>(k: K): number => {
    const v = options[k];
    if (v === undefined) return SERVE_DEFAULTS[k];
    if (!Number.isFinite(v) || v <= 0) throw new CoordinatorError('INVALID_ARGUMENT', `${k} must be a positive number, not ${v}`);
    return v;
  };
  const addr = (what: string, v: string): string => {
    try {
      return parseHostPort(what, v).address;
    } catch (err) {
      throw new CoordinatorError('INVALID_ARGUMENT', (err as Error).message);
    }
  };
  const envUrl = env[CATALOG_URL_ENV];
  const mqttUrl = options.mqttUrl ?? (env[MQTT_URL_ENV] || undefined) ?? file.mqttUrl;
  if (mqttUrl !== undefined) checkMqttUrl(mqttUrl);
  return {
    paths: dataPaths(options.dataDir),
    listen: addr('--listen', options.listen ?? file.listen),
    enrollListen: addr('--enroll-listen', options.enrollListen ?? file.enrollListen),
    http: addr('--http', options.http ?? file.http),
    region: options.region ?? file.region,
    catalogUrl: options.catalogUrl ?? (envUrl !== undefined && envUrl !== '' ? envUrl : file.catalogUrl),
    mqtt:
      mqttUrl === undefined
        ? undefined
        : { url: mqttUrl, topicPrefix: file.mqttTopicPrefix ?? 'pbk', caFile: file.mqttCaFile, password: env[MQTT_PASSWORD_ENV] || undefined },
    heartbeatIntervalMs: pick('heartbeatIntervalMs'),
    commandAckTimeoutMs: pick('commandAckTimeoutMs'),
    agentReconnectGraceMs: pick('agentReconnectGraceMs'),
    runIdleTimeoutMs: pick('runIdleTimeoutMs'),
    commitWaitMs: pick('commitWaitMs'),
    rpoTargetMs: pick('rpoTargetMs'),
    agentCertValidDays: pick('agentCertValidDays'),
    compressionLevel: checkCompressionLevel('compressionLevel', options.compressionLevel ?? file.compressionLevel ?? SERVE_DEFAULTS.compressionLevel),
    packTargetBytes: pick('packTargetBytes'),
    referencedCacheSnapshots: pick('referencedCacheSnapshots'),
    shutdownGraceMs: pick('shutdownGraceMs'),
    maintenance: {
      intervalMs: 1000 * (file.maintenance?.intervalSeconds ?? MAINTENANCE_DEFAULTS.intervalSeconds),
      compactGraceMs: 1000 * (file.maintenance?.compactGraceSeconds ?? MAINTENANCE_DEFAULTS.compactGraceSeconds),
      compactDeleteDelayMs: 1000 * (file.maintenance?.deleteDelaySeconds ?? MAINTENANCE_DEFAULTS.deleteDelaySeconds),
      compactMinPacks: Math.max(1, Math.round(file.maintenance?.minPacks ?? MAINTENANCE_DEFAULTS.minPacks)),
    },
    now: options.now ?? (() => new Date()),
  };
}

/** The addresses a running `serve` bound, in DIR/serve.json (for `token` and scripts). */
export interface ServeState {
  pid: number;
  grpc: string;
  enroll: string;
  http: string;
  ports: { grpc: number; enroll: number; http: number };
}

export { formatHostPort };
