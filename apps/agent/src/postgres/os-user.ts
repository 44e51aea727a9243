/**
 * The OS user PostgreSQL runs as. PostgreSQL refuses to run as root and wants
 * its data directory owned by its own user, so an agent running as root hands
 * restored directories to that user and starts servers as it.
 */
import { spawn } from 'node:child_process';
import { readFile, chown, lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError } from '../errors.js';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** uid and gid of a user from /etc/passwd (no NSS modules: agent hosts keep service users local). */
export async function osUserIds(user: string): Promise<{ uid: number; gid: number }> {
  if (!isRoot()) return { uid: process.getuid!(), gid: process.getgid!() };
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new AgentError('FAILED_PRECONDITION', `OS user ${JSON.stringify(user)} does not exist on this host: set osUser of the postgres source (the user PostgreSQL runs as)`);
}

/** chown -R without following symlinks. */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(path);
  if (st.uid !== uid || st.gid !== gid) await chown(path, uid, gid).catch(async (e: NodeJS.ErrnoException) => {
    if (!st.isSymbolicLink()) throw e;
  });
  if (!st.isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}

/** Spawns a PostgreSQL server-side program (pg_ctl) as the OS user when we are root. */
export function spawnAs(user: string, program: string, args: readonly string[], env: NodeJS.ProcessEnv): ReturnType<typeof spawn> {
  if (isRoot()) return spawn('runuser', ['-u', user, '--', program, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Whether `user` (uid, gid) can traverse every existing ancestor of `path`:
 * PostgreSQL, started as that user, must reach its data directory. Checked
 * before a restore writes anything, so a 0700 parent fails in a second with
 * the fix, not after the whole restore. Returns the blocking directory.
 */
export async function unreachableAncestor(path: string, ids: { uid: number; gid: number }): Promise<{ dir: string; mode: number; uid: number } | undefined> {
  if (ids.uid === 0) return undefined;
  let dir = dirname(path);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of chain) {
    let st;
    try {
      st = await lstat(d);
    } catch {
      // A missing parent would be created by root with mode 0700, which that user cannot traverse either.
      return { dir: d, mode: 0, uid: -1 };
    }
    const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return { dir: d, mode: st.mode & 0o7777, uid: st.uid };
  }
  return undefined;
}
