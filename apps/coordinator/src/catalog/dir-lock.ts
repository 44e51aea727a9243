/**
 * An exclusive lock on an embedded catalog directory.
 *
 * PGlite keeps the whole database in one process's memory and writes it back
 * to the directory; it does not honour postmaster.pid, so a second opener (a
 * second `serve`, or `token --data DIR` next to a running one) would silently
 * lose or corrupt writes. The lock file names its holder so the operator can
 * tell which process to stop; a holder that died leaves a stale file, taken
 * over when its pid no longer runs on this host.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { open, readFile, unlink } from 'node:fs/promises';
import { CatalogError } from './errors.js';
import { isProcessRunning } from '../util/process.js';

export const LOCK_FILE_NAME = 'pbk-catalog.lock';

interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** Takes the lock or throws FAILED_PRECONDITION naming the holder; returns the release function. */
export async function lockCatalogDir(dir: string, now: () => Date): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE_NAME);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: now().toISOString() };
  // Two attempts: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CatalogError('UNAVAILABLE', `cannot create the lock file ${path}: ${(err as Error).message}; check the data directory's owner and modes`, { cause: err });
      }
    }
    const holder = await readHolder(path);
    if (holder !== undefined && holder.host === me.host && !isProcessRunning(holder.pid)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    const who = holder === undefined ? 'an unknown process' : `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
    throw new CatalogError(
      'FAILED_PRECONDITION',
      `the embedded catalog in ${dir} is open in ${who}: only one process may open it; use the running pbk-coordinator instead, ` +
        `or stop it first (if no such process runs, remove ${path})`,
    );
  }
  throw new CatalogError('FAILED_PRECONDITION', `the embedded catalog in ${dir} is being locked by another process at the same time: try again`);
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return { pid: parsed.pid, host: parsed.host, since: String(parsed.since) };
  } catch {
    // Unreadable or half-written: treated as held by an unknown process, never taken over silently.
  }
  return undefined;
}

