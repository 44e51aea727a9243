/**
 * A consistent RDB dump (DESIGN decision 9): BGSAVE, then poll INFO
 * persistence until our save is over, and accept it only with
 * rdb_last_bgsave_status:ok and a LASTSAVE at or after the request.
 *
 * - "Background saving started": the fork happened before the reply, so the
 *   first rdb_bgsave_in_progress:0 after it (or rdb_saves moving, Redis >= 7)
 *   is our save ending.
 * - "already in progress" (someone else's BGSAVE, or Redis's own `save`
 *   rule): that dump started before we asked, so it may miss writes the
 *   caller expects: wait for it, then ask for our own.
 * - "Another child process is active" / "append only file rewriting": an AOF
 *   rewrite holds the fork; BGSAVE SCHEDULE queues ours to start after it,
 *   and we wait until the save counter (or LASTSAVE) moves.
 * - A failed save fails the run with Redis's reason: the warning the Redis
 *   log gained since the request when the agent can read it (`CONFIG GET
 *   logfile`), else the status. Past the timeout the run fails and says so
 *   (Redis keeps dumping; nothing is stopped).
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { replyText, type RedisCall } from './connection.js';
import { BgsaveFailedError, RedisSourceError } from './errors.js';
import { bgsaveFailureFromLog, parseInfo, parsePersistence, type PersistenceState } from './info.js';

export interface BgsaveOptions {
  address: string;
  timeoutMs: number;
  pollMs: number;
  clock: Clock;
  signal: AbortSignal;
  log: Logger;
  /** Told (server seconds) each time Redis accepted a BGSAVE of ours: the dump starts now (backup.ts reads it as it grows). */
  onRequested?: (requestedAtSec: number) => void;
}

export interface BgsaveResult {
  /** Unix seconds of the save (LASTSAVE) that produced the file. */
  lastSave: number;
  /** Unix seconds (server clock) when the save was asked for. */
  requestedAt: number;
  /** INFO persistence after the save. */
  state: PersistenceState;
  /** How the save was obtained. */
  how: 'started' | 'scheduled' | 'after-running';
}

const LOG_TAIL_BYTES = 64 * 1024;

export async function persistence(conn: RedisCall, address: string): Promise<PersistenceState> {
  const text = await conn.call('INFO', 'persistence');
  if (typeof text !== 'string') throw new RedisSourceError(address, `INFO persistence from ${address} answered ${typeof text}, not text`);
  try {
    return parsePersistence(parseInfo(text));
  } catch (err) {
    throw new RedisSourceError(address, `${address}: ${(err as Error).message}`);
  }
}

/** Server time in seconds (TIME), so LASTSAVE is compared on the server's own clock. */
async function serverSeconds(conn: RedisCall): Promise<number> {
  const t = (await conn.call('TIME')) as [string, string];
  return Number(t[0]);
}

export async function bgsave(conn: RedisCall, o: BgsaveOptions): Promise<BgsaveResult> {
  const deadline = o.clock.now() + o.timeoutMs;
  const logFile = await redisLogFile(conn);
  let how: BgsaveResult['how'] = 'started';
  for (;;) {
    const before = await persistence(conn, o.address);
    const requestedAt = await serverSeconds(conn);
    const logOffset = logFile ? await fileSize(logFile) : undefined;
    let reply: string;
    try {
      reply = String(await conn.call('BGSAVE'));
    } catch (err) {
      const text = replyText(err);
      if (text === undefined) throw err;
      if (/already in progress/i.test(text)) {
        o.log.info({ reply: text }, 'a BGSAVE is already running; waiting for it, then asking for our own');
        await waitUntil(conn, o, deadline, (s) => !s.bgsaveInProgress, 'the BGSAVE that was already running');
        how = 'after-running';
        continue;
      }
      if (/another child process is active|append only file rewriting/i.test(text)) {
        o.log.info({ reply: text }, 'an AOF rewrite holds the fork; scheduling the BGSAVE after it');
        try {
          reply = String(await conn.call('BGSAVE', 'SCHEDULE'));
        } catch (err2) {
          throw failed(o.address, replyText(err2) ?? (err2 as Error).message, 'BGSAVE SCHEDULE was refused');
        }
      } else {
        throw failed(o.address, text, 'BGSAVE was refused');
      }
    }
    const scheduled = /scheduled/i.test(reply);
    if (scheduled) how = 'scheduled';
    o.log.info({ reply, scheduled }, 'BGSAVE requested');
    o.onRequested?.(requestedAt);
    const moved = (s: PersistenceState): boolean =>
      s.saves !== undefined && before.saves !== undefined ? s.saves > before.saves : s.lastSave > before.lastSave || s.lastBgsaveOk !== before.lastBgsaveOk;
    let idleChecks = 0;
    const after = await waitUntil(
      conn,
      o,
      deadline,
      (s) => {
        if (s.bgsaveInProgress) return false;
        if (!scheduled) return true;
        if (moved(s)) return true;
        // Scheduled, nothing running and nothing moved for a while: the queue was lost (a restart, a CONFIG change). Ask again.
        if (!s.aofRewriteInProgress) idleChecks++;
        return idleChecks >= 10;
      },
      'our BGSAVE',
    );
    if (scheduled && !moved(after)) {
      o.log.warn('the scheduled BGSAVE never started; asking again');
      continue;
    }
    if (!after.lastBgsaveOk) {
      const fromLog = logFile && logOffset !== undefined ? bgsaveFailureFromLog(await readFrom(logFile, logOffset)) : undefined;
      const reason = fromLog ?? 'rdb_last_bgsave_status:err (the Redis log says why; the agent could not read it)';
      throw failed(o.address, reason, 'BGSAVE failed');
    }
    if (after.lastSave < requestedAt) {
      throw failed(o.address, `LASTSAVE ${after.lastSave} is older than the request (${requestedAt})`, 'BGSAVE finished without a new save');
    }
    o.log.info({ how, lastSave: after.lastSave }, 'BGSAVE finished');
    return { lastSave: after.lastSave, requestedAt, state: after, how };
  }
}

function failed(address: string, reason: string, what: string): BgsaveFailedError {
  return new BgsaveFailedError(
    address,
    reason,
    `${what} on Redis at ${address}: ${reason}. Fix the cause on the Redis host (disk space, permissions of its dir, the Redis log), then run pbk backup now`,
  );
}

async function waitUntil(conn: RedisCall, o: BgsaveOptions, deadline: number, done: (s: PersistenceState) => boolean, what: string): Promise<PersistenceState> {
  for (;;) {
    const s = await persistence(conn, o.address);
    if (done(s)) return s;
    if (o.clock.now() >= deadline) {
      throw new BgsaveFailedError(
        o.address,
        `still running after ${Math.round(o.timeoutMs / 1000)} s (rdb_current_bgsave_time_sec:${s.currentBgsaveSec})`,
        `timed out waiting for ${what} on Redis at ${o.address} after ${Math.round(o.timeoutMs / 1000)} s (rdb_current_bgsave_time_sec:${s.currentBgsaveSec}); ` +
          'Redis keeps dumping; raise bgsaveTimeoutMs if dumps of this size take longer, or look at the host (disk, fork time)',
      );
    }
    await sleep(o.clock, o.pollMs, o.signal);
  }
}

/** The Redis log file when CONFIG GET works and it is a file (not stdout/syslog); undefined otherwise. */
async function redisLogFile(conn: RedisCall): Promise<string | undefined> {
  try {
    const r = (await conn.call('CONFIG', 'GET', 'logfile')) as string[];
    const path = r[1];
    if (!path) return undefined; // '' = stdout (journald): nothing to read
    if (path.startsWith('/')) return path;
    // Redis opens the log for every line from its working directory, which is its dir.
    const dir = ((await conn.call('CONFIG', 'GET', 'dir')) as string[])[1];
    return dir ? join(dir, path) : undefined;
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      return (await fh.stat()).size;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const start = Math.max(offset, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(Math.max(0, size - start));
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}
