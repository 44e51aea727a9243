/**
 * Restores a redis snapshot (RestoreCommand with kind_options.redis):
 *
 * - `to_file`: the RDB lands at that absolute path (refused if it exists,
 *   unless force).
 * - `into` HOST:PORT: the data directory of a STOPPED instance configured on
 *   this agent (a source with that address). Refused while anything listens
 *   on the address. The instance's current RDB is moved aside
 *   (`<file>.before-pbk-<time>`), never deleted. When the instance uses
 *   `appendonly yes` the summary says what to do: an AOF would override the
 *   RDB on start (docs/redis.md, "Restoring into an instance").
 *
 * Either way the snapshot is first restored by the ordinary tree restore
 * (every blob decrypted and checked against its id) into a 0700 temp dir
 * beside the target, checked to be an RDB from header to EOF marker, then
 * renamed into place: a failed or corrupt download never leaves a partial
 * file under the real name, and the temp dir is always removed.
 */
import { createConnection } from 'node:net';
import { chown, lstat, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { parseAddress } from '../address.js';
import type { AgentSource } from '../daemon/source.js';
import { AgentError } from '../errors.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { RDB_ENTRY } from './backup.js';
import { RdbFileError } from './errors.js';
import { rdbTrailerOk, rdbVersion } from './info.js';
import { RedisSource } from './source.js';

export async function restoreRedis(deps: RestoreDeps, sources: ReadonlyMap<string, AgentSource>, cmd: v1.RestoreCommand__Output, run: RestoreRun): Promise<v1.RestoreSummary> {
  const o = cmd.redis;
  const snap = cmd.snapshot;
  if (!o) throw new AgentError('INVALID_ARGUMENT', 'a redis restore needs its options (to_file or into)');
  if (!snap) throw new AgentError('INVALID_ARGUMENT', 'the restore command names no snapshot');
  if (snap.source?.kind !== 'SOURCE_KIND_REDIS') throw new AgentError('FAILED_PRECONDITION', `snapshot ${snap.id.toString('hex')} is not a redis snapshot (${snap.source?.kind ?? 'unknown kind'})`);
  const started = deps.clock.now();
  const labels = snap.labels ?? {};
  const facts: Record<string, string> = {};

  let target: string;
  let into: IntoTarget | undefined;
  if (o.toFile !== '' && o.into !== '') throw new AgentError('INVALID_ARGUMENT', 'give to_file or into, not both');
  if (o.toFile !== '') {
    if (!isAbsolute(o.toFile)) throw new AgentError('INVALID_ARGUMENT', `to_file must be an absolute path, got ${JSON.stringify(o.toFile)}`);
    target = normalize(o.toFile);
    const existing = await lstat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw new AgentError('FAILED_PRECONDITION', `${target} is a directory: give the path of the RDB file to write (e.g. ${join(target, 'dump.rdb')})`);
    if (existing && !o.force) throw new AgentError('FAILED_PRECONDITION', `${target} exists: choose another file, or --force to replace it`);
  } else if (o.into !== '') {
    into = await intoTarget(sources, o.into, snap);
    target = into.rdbFile;
  } else {
    throw new AgentError('INVALID_ARGUMENT', 'a redis restore needs to_file or into');
  }

  const dir = dirname(target);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new AgentError('NOT_FOUND', `the directory ${dir} does not exist on this host: create it first (owned by the user Redis runs as)`);
  const temp = await mkdtemp(join(dir, '.pbk-redis-restore-'));
  try {
    const tree = await runRestore(deps, { ...cmd, targetDir: temp, path: '', force: false }, run);
    const restored = join(temp, RDB_ENTRY);
    const version = await checkRdb(restored);
    const size = (await stat(restored)).size;
    if (into) {
      const old = await lstat(target).catch(() => undefined);
      if (old) {
        const aside = `${target}.before-pbk-${new Date(deps.clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
        await rename(target, aside);
        facts.moved_aside = aside;
      }
      // Redis must be able to read (and later replace) it: the owner of the old dump, else of the dir.
      const owner = old ?? dirStat;
      if (process.getuid?.() === 0) await chown(restored, owner.uid, owner.gid);
    }
    // With force, an existing to_file is replaced only now, once the new file is complete and checked.
    await rename(restored, target);
    facts.rdb_file = target;
    facts.rdb_bytes = String(size);
    facts.rdb_version = String(version);
    for (const k of ['keys', 'expires', 'keys_total', 'redis_version', 'lastsave'] as const) if (labels[k] !== undefined) facts[k] = labels[k]!;
    if (into) {
      const aof = await aofPresent(dir);
      const appendonly = aof !== undefined || into.appendonly || labels.appendonly === 'yes';
      facts.into = into.address;
      facts.appendonly = appendonly ? 'yes' : 'no';
      if (appendonly) {
        facts.warning =
          `the instance uses appendonly yes${aof ? ` (${aof} is in ${dir})` : ''}: on start Redis loads the AOF, not the RDB, and the restore would be ignored. ` +
          `Before starting: move ${aof ? join(dir, aof) : 'the AOF'} away (or start once with appendonly no), start Redis, check the data, ` +
          'then run CONFIG SET appendonly yes to write a new AOF from the loaded data (docs/redis.md)';
      } else {
        facts.next_step = `start the Redis instance at ${into.address}: it loads ${target} on start`;
      }
    }
    const durationMs = deps.clock.now() - started;
    deps.log.info({ snapshot: snap.id.toString('hex'), target, bytes: size, into: into?.address, ...facts }, 'redis restore finished');
    return { targetDir: dir, files: tree.files, dirs: 0, bytes: String(size), durationMs, facts };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

interface IntoTarget {
  address: string;
  rdbFile: string;
  appendonly: boolean;
}

/** The configured source behind `into`, its RDB path, and proof it is stopped. */
async function intoTarget(sources: ReadonlyMap<string, AgentSource>, into: string, snap: v1.SnapshotInfo__Output): Promise<IntoTarget> {
  const want = parseAddress(into);
  if (!want) throw new AgentError('INVALID_ARGUMENT', `into must be HOST:PORT of a Redis instance configured on this agent, got ${JSON.stringify(into)}`);
  const redis = [...sources.values()].filter((s): s is RedisSource => s instanceof RedisSource);
  const source = redis.find((s) => {
    const a = parseAddress(s.config.address);
    return a !== undefined && a.port === want.port && a.host.toLowerCase() === want.host.toLowerCase();
  });
  if (!source) {
    throw new AgentError(
      'NOT_FOUND',
      `no redis source with address ${into} is configured on this agent (configured: ${redis.map((s) => s.config.address).join(', ') || 'none'}); ` +
        'to restore elsewhere use to_file (pbk restore redis --to FILE)',
    );
  }
  if (await listening(want.host, want.port)) {
    throw new AgentError(
      'FAILED_PRECONDITION',
      `Redis at ${into} is running: stop it first (e.g. systemctl stop redis-server), or it would overwrite the restored file with its own dump on shutdown`,
    );
  }
  const sameSource = snap.source?.name === source.name;
  const rdbFile = source.config.rdbPath ?? source.facts?.rdbFile ?? (sameSource ? snap.labels?.rdb_file : undefined);
  if (!rdbFile || !isAbsolute(rdbFile)) {
    throw new AgentError(
      'FAILED_PRECONDITION',
      `the agent does not know where ${into} keeps its RDB (Redis is stopped, so it cannot ask): set rdbPath in source ${source.name}'s config, or restore with --to ${'<dir>/<dbfilename>'}`,
    );
  }
  return { address: into, rdbFile, appendonly: source.facts?.appendonly ?? false };
}

/** Whether anything accepts TCP connections there (any answer means the instance is not stopped). */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 2000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The AOF Redis would load instead of the RDB: Redis 7's appendonlydir, or an older single appendonly.aof. */
async function aofPresent(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.find((n) => n === 'appendonlydir') ?? names.find((n) => /^appendonly.*\.aof$/.test(n));
}

async function checkRdb(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(9, size));
    await fh.read(head, 0, head.length, 0);
    const version = rdbVersion(head);
    if (version === undefined) throw new RdbFileError(basename(path), 'the restored file is not an RDB (no REDIS header); the snapshot does not hold a Redis dump', { code: 'CORRUPT' });
    const tail = Buffer.alloc(Math.min(9, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    if (!rdbTrailerOk(tail, version)) throw new RdbFileError(basename(path), 'the restored RDB has no EOF marker: the snapshot holds a cut-short dump', { code: 'CORRUPT' });
    return version;
  } finally {
    await fh.close();
  }
}
