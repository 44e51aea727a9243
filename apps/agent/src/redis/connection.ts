/**
 * One ioredis connection per job (a dump, a PING before a restore), never
 * reconnecting by itself: a Redis that goes away mid-run must fail that run
 * (`onGone`), not be silently re-dialled behind it. The password is read from
 * its file or env var at connect time and handed to ioredis only (AUTH on the
 * socket), never logged or put on a command line.
 */
import { Redis } from 'ioredis';
import type { RedisSourceConfig } from '../config/redis.js';
import { readSecret } from '../config/fields.js';
import { messageOf } from '../errors.js';
import { RedisSourceError } from './errors.js';

export type RedisTarget = Pick<RedisSourceConfig, 'name' | 'address' | 'host' | 'port' | 'username' | 'password' | 'tls' | 'connectTimeoutMs'>;

/** What the redis code calls on a connection (ioredis's `call`): a narrow seam for unit tests. */
export interface RedisCall {
  call(command: string, ...args: string[]): Promise<unknown>;
}

export interface RedisConnection extends RedisCall {
  /** Rejects when the connection drops before close() (the run fails with it). */
  readonly gone: Promise<never>;
  close(): Promise<void>;
}

export async function connectRedis(t: RedisTarget): Promise<RedisConnection> {
  const password = await readSecret(t.password, `redis source ${t.name}: password`);
  const client = new Redis({
    host: t.host,
    port: t.port,
    ...(t.username !== undefined ? { username: t.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(t.tls ? { tls: { servername: t.host } } : {}),
    connectTimeout: t.connectTimeoutMs,
    commandTimeout: t.connectTimeoutMs,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: 'pbk-agent',
  });
  // ioredis emits 'error' for every socket problem; the pending command or `gone` carries it instead.
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await client.connect();
    // AUTH runs as part of connect; a refused password shows up here (as the emitted error), not as a rejected connect.
    await client.call('PING');
  } catch (err) {
    client.disconnect();
    // ioredis rejects with 'Connection is closed'; the socket error it emitted says why.
    throw new RedisSourceError(t.address, `cannot connect to Redis at ${t.address} (source ${t.name}): ${describe(lastError ?? err)}`, { cause: lastError ?? err });
  }
  let closing = false;
  const gone = new Promise<never>((_, reject) => {
    client.once('end', () => {
      if (!closing) reject(new RedisSourceError(t.address, `the connection to Redis at ${t.address} (source ${t.name}) was lost${lastError ? `: ${describe(lastError)}` : ''}`));
    });
  });
  gone.catch(() => undefined);
  return {
    gone,
    call: async (command, ...args) => {
      try {
        return await client.call(command, ...args);
      } catch (err) {
        throw classify(t, command, err);
      }
    },
    close: async () => {
      closing = true;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** A Redis error reply keeps its text (callers match on it); transport failures name the instance. */
function classify(t: RedisTarget, command: string, err: unknown): Error {
  if ((err as { name?: string } | null)?.name === 'ReplyError') return err as Error;
  return new RedisSourceError(t.address, `Redis at ${t.address} (source ${t.name}) failed on ${command}: ${describe(err)}`, { cause: err });
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const msg = messageOf(err);
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(msg)) return `${msg} (check passwordFile/passwordEnv and username)`;
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** The text of a Redis error reply, for matching (`ERR Background save already in progress`). */
export function replyText(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name === 'ReplyError' ? messageOf(err) : undefined;
}
