// Compares two directory trees the way a restore must reproduce them: entry
// types, file contents (SHA-256), permission bits, mtimes (millisecond
// precision), symlink targets, and empty directories (every directory is an
// entry, so a missing empty one is reported). Never follows symlinks.
//
// By default the roots themselves are not compared (a restore target is
// usually created by the caller), and owners are not compared.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';

export type DifferenceKind = 'missing' | 'extra' | 'type' | 'size' | 'content' | 'mode' | 'mtime' | 'owner' | 'symlink';

export interface TreeDifference {
  /** Path relative to the roots, '/'-separated ('.' for the roots themselves). */
  path: string;
  kind: DifferenceKind;
  expected?: string;
  actual?: string;
}

export interface CompareOptions {
  /** Compare permission bits (mode & 0o7777) of files and dirs. Default true. */
  mode?: boolean;
  /** Compare mtimes of regular files (ms precision). Default true. */
  mtime?: boolean;
  /** Compare mtimes of directories. Default true. */
  dirMtime?: boolean;
  /** Compare mtimes of symlinks themselves. Default true. */
  symlinkMtime?: boolean;
  /** Compare uid/gid. Default false. */
  owner?: boolean;
  /** Also compare the roots' own mode and mtime. Default false. */
  root?: boolean;
  /** Stop after this many differences. Default: all. */
  limit?: number;
}

type Kind = 'file' | 'dir' | 'symlink' | 'other';

function kindOf(st: BigIntStats): Kind {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

const ms = (st: BigIntStats): bigint => st.mtimeNs / 1_000_000n;
const isoMs = (v: bigint): string => new Date(Number(v)).toISOString();
const octal = (m: bigint): string => (Number(m) & 0o7777).toString(8).padStart(4, '0');

class Limit extends Error {}

/** Differences between the expected tree and the actual one (empty when identical). */
export async function compareTrees(expectedRoot: string, actualRoot: string, opts: CompareOptions = {}): Promise<TreeDifference[]> {
  const o = { mode: true, mtime: true, dirMtime: true, symlinkMtime: true, owner: false, root: false, limit: Infinity, ...opts };
  const diffs: TreeDifference[] = [];
  const add = (d: TreeDifference): void => {
    diffs.push(d);
    if (diffs.length >= o.limit) throw new Limit();
  };

  const meta = (rel: string, k: Kind, e: BigIntStats, a: BigIntStats): void => {
    if (o.mode && k !== 'symlink' && (e.mode & 0o7777n) !== (a.mode & 0o7777n)) {
      add({ path: rel, kind: 'mode', expected: octal(e.mode), actual: octal(a.mode) });
    }
    const wantMtime = k === 'file' ? o.mtime : k === 'dir' ? o.dirMtime : k === 'symlink' ? o.symlinkMtime : false;
    if (wantMtime && ms(e) !== ms(a)) add({ path: rel, kind: 'mtime', expected: isoMs(ms(e)), actual: isoMs(ms(a)) });
    if (o.owner && (e.uid !== a.uid || e.gid !== a.gid)) {
      add({ path: rel, kind: 'owner', expected: `${e.uid}:${e.gid}`, actual: `${a.uid}:${a.gid}` });
    }
  };

  const visit = async (rel: string): Promise<void> => {
    const eDir = rel === '.' ? expectedRoot : join(expectedRoot, rel);
    const aDir = rel === '.' ? actualRoot : join(actualRoot, rel);
    const [eNames, aNames] = await Promise.all([readdir(eDir), readdir(aDir)]);
    const aSet = new Set(aNames);
    const eSet = new Set(eNames);
    for (const name of aNames.filter((n) => !eSet.has(n)).sort()) {
      add({ path: rel === '.' ? name : `${rel}/${name}`, kind: 'extra' });
    }
    for (const name of eNames.sort()) {
      const r = rel === '.' ? name : `${rel}/${name}`;
      if (!aSet.has(name)) { add({ path: r, kind: 'missing' }); continue; }
      const ep = join(eDir, name);
      const ap = join(aDir, name);
      const [e, a] = await Promise.all([lstat(ep, { bigint: true }), lstat(ap, { bigint: true })]);
      const k = kindOf(e);
      if (k !== kindOf(a)) { add({ path: r, kind: 'type', expected: k, actual: kindOf(a) }); continue; }
      if (k === 'file') {
        if (e.size !== a.size) add({ path: r, kind: 'size', expected: String(e.size), actual: String(a.size) });
        else {
          const [eh, ah] = await Promise.all([hashFile(ep), hashFile(ap)]);
          if (eh !== ah) add({ path: r, kind: 'content', expected: eh, actual: ah });
        }
      } else if (k === 'symlink') {
        const [et, at] = await Promise.all([readlink(ep), readlink(ap)]);
        if (et !== at) add({ path: r, kind: 'symlink', expected: et, actual: at });
      }
      meta(r, k, e, a);
      if (k === 'dir') await visit(r);
    }
  };

  try {
    if (o.root) {
      const [e, a] = await Promise.all([lstat(expectedRoot, { bigint: true }), lstat(actualRoot, { bigint: true })]);
      meta('.', 'dir', e, a);
    }
    await visit('.');
  } catch (err) {
    if (!(err instanceof Limit)) throw err;
  }
  return diffs;
}

/** Counts differences by kind, e.g. { content: 2, mtime: 10 }. */
export function countByKind(diffs: readonly TreeDifference[]): Partial<Record<DifferenceKind, number>> {
  const out: Partial<Record<DifferenceKind, number>> = {};
  for (const d of diffs) out[d.kind] = (out[d.kind] ?? 0) + 1;
  return out;
}
