/**
 * Validates a redis snapshot (ValidateCommand; DESIGN decisions 9 and 11c):
 *
 *   restore  the snapshot restored into a 0700 scratch dir (every blob
 *            decrypted and checked against its id)
 *   redis-check-rdb  the file's structure and CRC64
 *   load     a scratch redis-server started on the file (a unix socket,
 *            mode 0700, in the scratch dir: no TCP port, so nobody else on
 *            the host can read the restored data), answered PING after loading
 *   key-counts  INFO keyspace of the scratch server against the counts
 *            recorded at backup time (labels keys / keys_after), allowing for
 *            keys whose TTL ran out before the load; and keys loaded + expired
 *            at load == keys redis-check-rdb read
 *
 * A failed check is a report, not an error; the scratch server is stopped and
 * the scratch dir removed whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { v1 } from '@pbk/protocol';
import { sleep, type Clock } from '../clock.js';
import { AgentError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { RDB_ENTRY } from './backup.js';
import { compareKeyCounts, parseCheckRdb, parseCounts, parseInfo, parseKeyspace, parseLoadedLine, type CheckRdbSummary } from './info.js';

export interface RedisToolPaths {
  redisServer: string;
  redisCheckRdb: string;
  /** Where scratch dirs are made (default the OS temp dir). */
  scratchRoot: string;
  /** How long the scratch server may take to load the dump. */
  loadTimeoutMs: number;
}

export const DEFAULT_REDIS_TOOLS: RedisToolPaths = { redisServer: 'redis-server', redisCheckRdb: 'redis-check-rdb', scratchRoot: tmpdir(), loadTimeoutMs: 10 * 60 * 1000 };

type Check = v1.ValidationCheck;

export async function validateRedis(deps: RestoreDeps, cmd: v1.ValidateCommand__Output, run: RestoreRun, tools: RedisToolPaths = DEFAULT_REDIS_TOOLS): Promise<v1.ValidationReport> {
  const snap = cmd.snapshot;
  if (!snap || snap.source?.kind !== 'SOURCE_KIND_REDIS') throw new AgentError('INVALID_ARGUMENT', 'validate: the command names no redis snapshot');
  const started = deps.clock.now();
  const log = deps.log.child({ snapshot: snap.id.toString('hex'), job: 'validate' });
  const checks: Check[] = [];
  const report = (): v1.ValidationReport => ({ ok: checks.length > 0 && checks.every((c) => c.ok), checks, durationMs: deps.clock.now() - started });
  const phase = (current: string): void => run.onProgress?.({ phase: 'verifying', current, itemsDone: checks.length, itemsTotal: 4, elapsedMs: deps.clock.now() - started });
  const scratch = await mkdtemp(join(tools.scratchRoot, 'pbk-redis-validate-'));
  let server: ChildProcess | undefined;
  try {
    try {
      await runRestore(deps, { snapshot: snap, path: '', targetDir: join(scratch, 'data'), force: false, kindOptions: undefined }, run);
      checks.push({ name: 'restore', ok: true, detail: `${snap.labels?.rdb_bytes ?? '?'} bytes restored and checked blob by blob` });
    } catch (err) {
      if (run.signal.aborted) throw run.signal.reason ?? err;
      checks.push({ name: 'restore', ok: false, detail: messageOf(err) });
      return report();
    }
    const rdb = join(scratch, 'data', RDB_ENTRY);

    phase('redis-check-rdb');
    const checked = await runTool(tools.redisCheckRdb, [rdb], run.signal);
    const summary: CheckRdbSummary = parseCheckRdb(checked.output);
    const checkOk = checked.code === 0 && summary.ok;
    checks.push({ name: 'redis-check-rdb', ok: checkOk, detail: checkOk ? `RDB looks OK: ${summary.keysRead ?? '?'} keys read, ${summary.expires ?? '?'} with a TTL, ${summary.alreadyExpired ?? '?'} already expired` : tail(checked.output) });
    if (!checkOk) return report();

    phase('load');
    const sock = join(scratch, 'redis.sock');
    const logFile = join(scratch, 'redis.log');
    server = spawn(
      tools.redisServer,
      ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--dir', join(scratch, 'data'), '--dbfilename', RDB_ENTRY, '--save', '', '--appendonly', 'no', '--logfile', logFile, '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    const spawnError = new Promise<Error>((resolve) => server!.once('error', resolve));
    let client: Redis | undefined;
    try {
      client = await waitLoaded(sock, deps.clock, tools.loadTimeoutMs, run.signal, exited, spawnError);
    } catch (err) {
      if (run.signal.aborted) throw run.signal.reason ?? err;
      const logText = await readFile(logFile, 'utf8').catch(() => '');
      checks.push({ name: 'load', ok: false, detail: `${messageOf(err)}${logText ? `; redis-server log: ${tail(logText)}` : ''}` });
      return report();
    }
    try {
      const loadedLine = parseLoadedLine(await readFile(logFile, 'utf8').catch(() => ''));
      checks.push({ name: 'load', ok: true, detail: loadedLine ? `loaded by a scratch redis-server: ${loadedLine.loaded} keys loaded, ${loadedLine.expired} expired at load` : 'loaded by a scratch redis-server' });
      phase('key-counts');
      const ks = parseKeyspace(parseInfo(String(await client.call('INFO', 'keyspace'))));
      const got = new Map([...ks].map(([db, c]) => [db, c.keys]));
      const labels = snap.labels ?? {};
      if (labels.keys === undefined) {
        checks.push({ name: 'key-counts', ok: false, detail: 'the snapshot records no key counts (label keys): made by an older agent?' });
      } else {
        const verdict = compareKeyCounts({
          recorded: parseCounts(labels.keys),
          recordedAfter: labels.keys_after !== undefined ? parseCounts(labels.keys_after) : undefined,
          loaded: got,
          expiredAtLoad: loadedLine?.expired ?? 0,
          fileKeys: summary.keysRead,
        });
        checks.push({ name: 'key-counts', ...verdict });
      }
      await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    } finally {
      client.disconnect();
    }
    return report();
  } finally {
    if (server && server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server!.once('exit', r));
      server.kill('SIGKILL');
      await gone;
    }
    await rm(scratch, { recursive: true, force: true });
    log.info({ ok: report().ok, checks: checks.map((c) => `${c.name}:${c.ok ? 'ok' : 'FAILED'}`).join(' '), durationMs: deps.clock.now() - started }, 'redis validation finished');
  }
}

/** Connects to the scratch server's socket once it exists and answers PING (not LOADING). */
async function waitLoaded(sock: string, clock: Clock, timeoutMs: number, signal: AbortSignal, exited: Promise<number | null>, spawnError: Promise<Error>): Promise<Redis> {
  const deadline = clock.now() + timeoutMs;
  let exit: number | null | undefined;
  let spawnErr: Error | undefined;
  void exited.then((c) => (exit = c ?? -1));
  void spawnError.then((e) => (spawnErr = e));
  for (;;) {
    if (spawnErr) throw new Error(`redis-server could not be started: ${spawnErr.message} (install redis-server on the validating host)`);
    if (exit !== undefined) throw new Error(`redis-server exited (code ${exit}) instead of loading the RDB`);
    const client = new Redis({ path: sock, lazyConnect: true, enableReadyCheck: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const pong = await client.call('PING');
      if (pong === 'PONG') return client;
      client.disconnect();
    } catch (err) {
      client.disconnect();
      if (!/LOADING|ENOENT|ECONNREFUSED|Connection is closed/i.test(messageOf(err))) throw err;
    }
    if (clock.now() > deadline) throw new Error(`redis-server did not finish loading within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(clock, 50, signal);
  }
}

async function runTool(program: string, args: string[], signal: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.once('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve({ code: 127, output: `${program} not found: install redis-tools / redis-server on the validating host` });
      else reject(err);
    });
    child.once('close', (code) => resolve({ code, output: Buffer.concat(out).toString('utf8') }));
  });
}

function tail(text: string, lines = 6): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}
