/**
 * `pbk-coordinator token --data DIR --host NAME [--ttl 1h] [--enroll-port N]`:
 * prints one enrollment token and nothing else on stdout, so scripts can
 * capture it. Needs no catalog (a running `serve` may hold it): the token is
 * signed with DIR/token.key and carries the CA fingerprint and the enrollment
 * port (that of the running `serve` from DIR/serve.json, else the configured one).
 */
import { readFile } from 'node:fs/promises';
import { readKeyFile } from '@pbk/crypto';
import { certificateFingerprint } from '@pbk/protocol';
import { parseDuration, parseFlags, parseHostPort, usageOf, type FlagSpecs } from '../args.js';
import { dataPaths, readFileConfig, type ServeState } from '../config.js';
import { revokeHostTokens, signToken } from '../enroll-token.js';
import { CoordinatorError, UsageError } from '../errors.js';
import { isProcessRunning } from '../util/process.js';

export const TOKEN_FLAGS = {
  data: { value: 'DIR', required: true, help: 'the coordinator data directory' },
  host: { value: 'NAME', required: true, help: 'host name the token enrolls (the agent must enroll under it)' },
  ttl: { value: 'DURATION', help: 'lifetime, e.g. 15m, 1h, 2d (default 1h, at most 30d)' },
  'enroll-port': { value: 'PORT', help: 'enrollment port to put in the token (default: the running serve, else coordinator.json)' },
  revoke: { value: 'yes', help: "with 'yes': print no token; refuse every token issued for --host until now" },
} satisfies FlagSpecs;

export const TOKEN_USAGE = usageOf('token', 'print a one-time, expiring enrollment token for an agent', TOKEN_FLAGS);

const DEFAULT_TTL_MS = 3600_000;

export async function runToken(argv: readonly string[], now: () => Date): Promise<string> {
  const flags = parseFlags('token', TOKEN_FLAGS, argv);
  const p = dataPaths(flags.data);
  if (flags.revoke !== undefined) {
    if (flags.revoke !== 'yes') throw new UsageError("--revoke takes 'yes' (it revokes every token issued for --host so far)");
    await revokeHostTokens(p.revokedTokens, flags.host, now);
    return `revoked every enrollment token issued for ${flags.host} until ${now().toISOString()}`;
  }
  const ttlMs = flags.ttl === undefined ? DEFAULT_TTL_MS : parseDuration('--ttl', flags.ttl);
  const config = await readFileConfig(p.config);
  let port: number;
  if (flags['enroll-port'] !== undefined) {
    port = Number(flags['enroll-port']);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--enroll-port ${flags['enroll-port']} is not a port number`);
  } else {
    port = (await runningEnrollPort(p.serveState)) ?? parseHostPort('enrollListen', config.enrollListen).port;
  }
  if (port === 0) throw new CoordinatorError('FAILED_PRECONDITION', 'the configured enrollment port is 0 (any free port) and no serve is running: start serve first, or pass --enroll-port');
  const key = await readKeyFile(p.tokenKey);
  const caPem = await readFile(p.caCert, 'utf8');
  return signToken(key, { host: flags.host, ttlMs, caFingerprint: certificateFingerprint(caPem), enrollPort: port, now });
}

async function runningEnrollPort(path: string): Promise<number | undefined> {
  try {
    const state = JSON.parse(await readFile(path, 'utf8')) as Partial<ServeState>;
    if (typeof state.pid !== 'number' || typeof state.ports?.enroll !== 'number' || !isProcessRunning(state.pid)) return undefined;
    return state.ports.enroll;
  } catch {
    // No serve.json, unreadable, or its process is gone: fall back to the configuration.
    return undefined;
  }
}
