/**
 * Point-in-time recovery on the agent (docs/postgres.md, "Point-in-time
 * recovery"), done the way PostgreSQL recovers: the chosen base backup is
 * restored as an ordinary tree (parallel, with progress), handed to the
 * PostgreSQL OS user, and recovery is configured in postgresql.auto.conf:
 * `restore_command` (pbk-agent wal-fetch, which exits non-zero for a segment
 * the archive does not have, so recovery ends cleanly at its end), the
 * recovery target, `recovery_target_timeline = 'latest'`,
 * `recovery_target_action = 'promote'`, plus recovery.signal. With `start`
 * the server is started as that user on 127.0.0.1 and a free port, awaited
 * until it has promoted, and checked (connections, pg_amcheck); the facts
 * (restored-to time, LSN, timeline, port) come from what the server itself
 * logs when recovery stops.
 */
import { once } from 'node:events';
import { appendFile, mkdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, normalize } from 'node:path';
import pg from 'pg';
import type { v1 } from '@pbk/protocol';
import type { Clock } from '../clock.js';
import { readSecret } from '../config/fields.js';
import type { PostgresConnection } from '../config/postgres.js';
import { AgentError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { runProgram, TailBuffer } from './connection.js';
import { chownTree, osUserIds, spawnAs, unreachableAncestor } from './os-user.js';
import { backedUpTablespaces, checkPlacesFree, moveTablespaces, placeTablespaces } from './tablespaces.js';

export interface PitrTools {
  binDir: string;
  osUser: string;
  /** The restore_command for the snapshot's source (pbk-agent wal-fetch through the daemon's socket), checking a spool first when given. */
  restoreCommand: (source: v1.SourceRef__Output, spoolDir?: string) => string;
  /** Has the daemon write the WAL it fetches ahead into `dir` until closed (undefined: no local API running). */
  walSpool?: (source: v1.SourceRef__Output, dir: string, owner: { uid: number; gid: number }) => { close(): Promise<void> } | undefined;
  /** Has the daemon fetch the first WAL segments ahead (into its memory), so recovery's first requests are served at once. */
  readAheadWal?: (source: v1.SourceRef__Output, file: string) => void;
  /** Who to connect as for the checks: the source's role and password when this agent has the source configured. */
  connection: Pick<PostgresConnection, 'user' | 'password'> | undefined;
  clock: Clock;
  /** How long a started server may take to reach the target and promote. */
  recoveryTimeoutMs: number;
}

export class RecoveryError extends AgentError {
  readonly logTail: string;
  constructor(message: string, logTail: string) {
    super('FAILED_PRECONDITION', message);
    this.logTail = logTail;
  }
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freeLocalPort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A single-quoted postgresql.conf value. */
export function confQuote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The recovery target settings for the options' target (none for --latest). */
export function recoveryTargetSettings(opts: Pick<v1.PostgresRestoreOptions__Output, 'target' | 'timeUnixMs' | 'lsn' | 'xid' | 'name' | 'exclusive'>): Record<string, string> {
  const out: Record<string, string> = {};
  const o = { target: opts.target, timeUnixMs: opts.timeUnixMs ?? '0', lsn: opts.lsn ?? '', xid: opts.xid ?? '', name: opts.name ?? '', exclusive: opts.exclusive };
  switch (o.target) {
    case 'timeUnixMs': {
      const d = new Date(Number(o.timeUnixMs));
      // Explicit UTC offset: the server's TimeZone setting must not shift the target.
      out.recovery_target_time = confQuote(`${d.toISOString().replace('T', ' ').replace('Z', '')}+00`);
      break;
    }
    case 'lsn':
      if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(o.lsn)) throw new AgentError('INVALID_ARGUMENT', `recovery target LSN ${JSON.stringify(o.lsn)} is not an LSN like 0/3000148`);
      out.recovery_target_lsn = confQuote(o.lsn);
      break;
    case 'xid':
      if (!/^\d+$/.test(o.xid)) throw new AgentError('INVALID_ARGUMENT', `recovery target xid ${JSON.stringify(o.xid)} is not a transaction id (decimal)`);
      out.recovery_target_xid = confQuote(o.xid);
      break;
    case 'name':
      if (o.name === '' || o.name.length > 63) throw new AgentError('INVALID_ARGUMENT', 'recovery target name must be 1-63 characters (a pg_create_restore_point name)');
      out.recovery_target_name = confQuote(o.name);
      break;
    default:
      return out;
  }
  out.recovery_target_inclusive = o.exclusive ? 'off' : 'on';
  return out;
}

/** What the server log says about where recovery stopped (PostgreSQL 15 messages). */
export function recoveryFacts(log: string): Record<string, string> {
  const facts: Record<string, string> = {};
  const stop = /recovery stopping (before|after) (commit|abort) of transaction (\d+), time (.+?)\s*$/m.exec(log);
  if (stop) {
    // "before": that transaction (at that time) is NOT in the restored data; "after": it is the last one that is.
    facts.recovery_stop = `${stop[1]} ${stop[2]} of transaction ${stop[3]} at ${toIso(stop[4]!)}`;
    if (stop[1] === 'after') facts.restored_to = toIso(stop[4]!);
  }
  const stopLsn = /recovery stopping (?:before|after) WAL location \(LSN\) "([0-9A-F/]+)"/m.exec(log);
  if (stopLsn) facts.recovery_stop = `at LSN ${stopLsn[1]}`;
  const point = /recovery stopping at restore point "(.+?)", time (.+?)\s*$/m.exec(log);
  if (point) {
    facts.recovery_stop = `restore point ${point[1]}`;
    facts.restored_to = toIso(point[2]!);
  }
  // The commit time of the last transaction replayed: what the restored data is "as of".
  const last = [...log.matchAll(/last completed transaction was at log time (.+?)\s*$/gm)].pop();
  if (last) facts.restored_to = toIso(last[1]!);
  const redo = [...log.matchAll(/redo done at ([0-9A-F]+\/[0-9A-F]+)/g)].pop();
  if (redo) facts.restored_to_lsn = redo[1]!;
  const tli = [...log.matchAll(/selected new timeline ID: (\d+)/g)].pop();
  if (tli) facts.timeline = tli[1]!;
  const consistent = /consistent recovery state reached at ([0-9A-F]+\/[0-9A-F]+)/.exec(log);
  if (consistent) facts.consistent_at_lsn = consistent[1]!;
  return facts;
}

function toIso(pgTime: string): string {
  const t = Date.parse(pgTime.trim().replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00').replace(/ UTC$/, 'Z'));
  return Number.isNaN(t) ? pgTime.trim() : new Date(t).toISOString();
}

/** The error for a directory PostgreSQL's OS user could not reach (see unreachableAncestor). */
function unreachable(blocked: { dir: string; mode: number; uid: number }, path: string, osUser: string): AgentError {
  return new AgentError(
    'FAILED_PRECONDITION',
    blocked.uid === -1
      ? `the parent directory ${blocked.dir} of ${path} does not exist: create it so that PostgreSQL (OS user ${osUser}) can traverse it`
      : `PostgreSQL (OS user ${osUser}) could not reach ${path}: ${blocked.dir} is mode ${blocked.mode.toString(8).padStart(4, '0')} owned by uid ${blocked.uid}; restore under a directory that user can traverse (e.g. /var/lib/postgresql) or allow it (chmod o+x ${blocked.dir})`,
  );
}

export async function runPitrRestore(deps: RestoreDeps & { log: Logger }, tools: PitrTools, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  const o = cmd.postgres;
  const snap = cmd.snapshot;
  if (!o || !snap) throw new AgentError('INVALID_ARGUMENT', 'a postgres restore needs its options and snapshot');
  if (snap.labels.type !== 'base') {
    throw new AgentError('INVALID_ARGUMENT', `snapshot ${snap.id.toString('hex').slice(0, 8)} is a ${snap.labels.type ?? 'unknown'} snapshot, not a base backup: point-in-time recovery starts from a base backup`);
  }
  const target = normalize(o.targetDir || cmd.targetDir);
  const started = tools.clock.now();
  const targetSettings = recoveryTargetSettings(o); // bad targets are refused before anything is written
  const log = deps.log.child({ target, snapshot: snap.id.toString('hex') });
  const ids = await osUserIds(tools.osUser);
  const blocked = await unreachableAncestor(target, ids);
  if (blocked) throw unreachable(blocked, target, tools.osUser);
  // Tablespaces outside the data directory: where each goes is settled, and checked free, before anything is written.
  const tablespaces = placeTablespaces(backedUpTablespaces(snap.labels), o.tablespaceMap ?? {}, o.tablespaceMapAll ?? '', target);
  for (const t of tablespaces) {
    const b = await unreachableAncestor(t.to, ids);
    if (b) throw unreachable(b, t.to, tools.osUser);
  }
  await checkPlacesFree(tablespaces);

  // Recovery starts at the backup's first segment: fetch it while the tree is restored (and again before the
  // server starts, for what a long tree restore outlived: held segments expire unasked after a minute).
  const firstWal = snap.labels.start_wal_file;
  const readAhead = (): void => {
    if (o.start && firstWal && snap.source) tools.readAheadWal?.(snap.source, firstWal);
  };
  readAhead();
  // Written back to disk as the restore goes: PostgreSQL fsyncs the whole data directory when recovery starts,
  // and with ~1 GB still dirty that took 0.5-1.5 s before replay began (bench:postgres --delta-restore, 2 cores).
  // An fsync of every file instead made the tree restore itself slower: the largest file's waited at its end.
  const tree = await runRestore(deps, { ...cmd, targetDir: target, path: '', force: o.force }, { ...run, writeback: true });
  run.onProgress?.({ phase: 'configuring recovery', elapsedMs: tools.clock.now() - started });

  // -X none: the backup carries no WAL; recovery fetches it all through restore_command.
  await mkdir(join(target, 'pg_wal', 'archive_status'), { recursive: true, mode: 0o700 });
  await rm(join(target, 'postmaster.pid'), { force: true });
  await rm(join(target, 'standby.signal'), { force: true });
  // A recovery we run gets the WAL fetched ahead as files in a spool beside pg_wal's own (wal-spool.ts): a rename per segment.
  const spoolDir = o.start && tools.walSpool !== undefined ? join(target, 'pg_wal', 'pbk-spool') : undefined;
  if (spoolDir !== undefined) {
    await rm(spoolDir, { recursive: true, force: true }); // a --force restore over an old one: nothing stale may be served
    await mkdir(spoolDir, { mode: 0o700 });
  }
  const settings: Record<string, string> = {
    restore_command: confQuote(tools.restoreCommand(snap.source!, spoolDir)),
    ...targetSettings,
    recovery_target_timeline: confQuote('latest'),
    recovery_target_action: confQuote('promote'),
    // A restored copy must not archive into the source's WAL (or anywhere) until an operator decides it is a new primary.
    archive_mode: 'off',
  };
  let port = 0;
  if (o.start) {
    port = o.port > 0 ? o.port : await freeLocalPort();
    // Never clash with the source cluster on this host: our own port, loopback only, no socket in its directory.
    settings.port = String(port);
    settings.listen_addresses = confQuote('127.0.0.1');
    settings.unix_socket_directories = confQuote('');
  }
  const auto = join(target, 'postgresql.auto.conf');
  await appendFile(auto, `\n# pbk restore of snapshot ${snap.id.toString('hex')} (${new Date(started).toISOString()})\n${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  await writeFile(join(target, 'recovery.signal'), '');
  await moveTablespaces(target, tablespaces, ids);
  await chownTree(target, ids.uid, ids.gid);
  await chmod(target, 0o700);
  log.info({ settings: Object.keys(settings), start: o.start }, 'recovery configured');

  const facts: Record<string, string> = {
    base_backup: snap.id.toString('hex'),
    base_stop_lsn: snap.labels.stop_lsn ?? '',
    data_directory: target,
    recovery_target: o.target ?? 'latest',
    started: String(o.start),
    // The tree restore alone (download, decrypt, write), apart from WAL replay.
    tree_restore_ms: String(tree.durationMs),
  };
  if (tablespaces.length > 0) facts.tablespaces = tablespaces.map((t) => `${t.name}=${t.to}`).join(', ');
  if (!o.start) {
    return { ...tree, targetDir: target, durationMs: tools.clock.now() - started, facts };
  }

  run.onProgress?.({ phase: 'recovering', elapsedMs: tools.clock.now() - started });
  const serverLog = join(target, 'pbk-recovery.log');
  await writeFile(serverLog, '');
  await chownTree(serverLog, ids.uid, ids.gid);
  const pgCtl = join(tools.binDir, 'pg_ctl');
  const spool = spoolDir !== undefined ? tools.walSpool?.(snap.source!, spoolDir, ids) : undefined;
  const dropSpool = async (): Promise<void> => {
    await spool?.close();
    if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
  };
  try {
    readAhead();
    const ctl = await runCtl(tools.osUser, pgCtl, ['-D', target, '-l', serverLog, '-w', '-t', String(Math.ceil(tools.recoveryTimeoutMs / 1000)), 'start']);
    if (ctl.code !== 0) {
      const tail = await logTail(serverLog);
      throw new RecoveryError(`the restored server did not start (pg_ctl exit ${ctl.code}): ${lastFatal(tail) ?? ctl.stderr.trim().slice(-400)}; the data directory is left in ${target} for inspection`, tail);
    }
    facts.port = String(port);
    const password = tools.connection ? await readSecret(tools.connection.password, 'postgres password') : undefined;
    const user = tools.connection?.user ?? tools.osUser;
    const query = async <T extends Record<string, unknown>>(sql: string): Promise<T[]> => {
      const c = new pg.Client({ host: '127.0.0.1', port, user, database: 'postgres', ...(password !== undefined ? { password } : {}), connectionTimeoutMillis: 5000 });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return (await c.query<T>(sql)).rows;
      } finally {
        await c.end().catch(() => undefined);
      }
    };
    const deadline = tools.clock.now() + tools.recoveryTimeoutMs;
    for (;;) {
      run.signal.throwIfAborted();
      let inRecovery: boolean | undefined;
      try {
        inRecovery = (await query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]?.r;
      } catch (err) {
        const tail = await logTail(serverLog);
        // The server shut itself down: recovery failed (target not reached, WAL missing).
        if (/database system is shut down|FATAL|PANIC/.test(tail) && !(await isUp(tools, target))) {
          throw new RecoveryError(`recovery failed: ${lastFatal(tail) ?? messageOf(err)}; the data directory is left in ${target} for inspection`, tail);
        }
      }
      if (inRecovery === false) break;
      if (tools.clock.now() > deadline) {
        throw new RecoveryError(`the restored server was still recovering after ${Math.round(tools.recoveryTimeoutMs / 1000)} s (port ${port}); it keeps running, see ${serverLog}`, await logTail(serverLog));
      }
      // Promotion is what the operator waits for (RTO): look often, a query costs a few ms.
      await new Promise((r) => setTimeout(r, 50));
    }
    facts.promoted = 'true';
    // Time to a consistent, promoted server (the RTO), apart from the checks after it.
    facts.promoted_ms = String(tools.clock.now() - started);
    await dropSpool(); // recovery is over: nothing asks for WAL any more
    Object.assign(facts, recoveryFacts(await readFile(serverLog, 'utf8')));
    const tl = await query<{ t: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS t").catch(() => []);
    if (tl[0]) facts.timeline = String(parseInt(tl[0].t, 16));
    const dbs = await query<{ n: string }>('SELECT count(*)::text AS n FROM pg_database WHERE datallowconn').catch(() => []);
    facts.accepts_connections = 'true';
    facts.databases = dbs[0]?.n ?? '';

    run.onProgress?.({ phase: 'checking', elapsedMs: tools.clock.now() - started });
    const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user };
    delete env.PGPASSWORD;
    if (password !== undefined) env.PGPASSWORD = password;
    // --install-missing creates the amcheck extension where it is missing: this is a restored copy, checked before anyone uses it.
    const am = await runProgram(join(tools.binDir, 'pg_amcheck'), ['--all', '--install-missing', '--no-password', '-d', 'postgres'], { env, signal: run.signal });
    facts.checks_ms = String(tools.clock.now() - started - Number(facts.promoted_ms));
    facts.amcheck = am.code === 0 ? 'ok' : `failed (exit ${am.code}): ${am.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}`;
    log.info({ facts }, 'restored server promoted and checked');
    if (am.code !== 0) {
      throw new RecoveryError(`the restored server is up on port ${port} but pg_amcheck found problems: ${facts.amcheck}`, am.stderr);
    }
    return { ...tree, targetDir: target, durationMs: tools.clock.now() - started, facts };
  } finally {
    await dropSpool();
  }
}

function runCtl(user: string, pgCtl: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnAs(user, pgCtl, args, { ...process.env });
    const err = new TailBuffer();
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdout!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new AgentError('FAILED_PRECONDITION', `cannot run ${pgCtl}: ${e.message}`)));
    child.on('close', (code) => resolve({ code, stderr: err.toString() }));
  });
}

async function isUp(tools: PitrTools, target: string): Promise<boolean> {
  try {
    await stat(join(target, 'postmaster.pid'));
    return (await runCtl(tools.osUser, join(tools.binDir, 'pg_ctl'), ['-D', target, 'status'])).code === 0;
  } catch {
    return false;
  }
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.slice(-4000);
}

function lastFatal(log: string): string | undefined {
  const lines = log.split('\n').filter((l) => /FATAL|PANIC/.test(l));
  return lines.pop()?.replace(/^.*?(FATAL|PANIC)/, '$1').trim();
}
