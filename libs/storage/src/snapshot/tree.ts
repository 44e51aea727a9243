import { UnsafePathError } from '../errors.js';

/**
 * A directory as stored: a tree blob holding UTF-8 JSON `{"entries":[...]}`,
 * entries sorted by name (byte order) so identical directories give identical
 * blobs and dedup to one. docs/repository-format.md, "Trees".
 */
export type EntryType = 'file' | 'dir' | 'symlink';

export interface TreeEntry {
  name: string;
  type: EntryType;
  /** Permission and special bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtimeNs: string;
  /** Inode number at backup time (decimal string); with size and mtime it lets the next run skip unchanged files. */
  inode?: string;
  /** file: byte length. */
  size?: number;
  /** file: data blob ids (hex) in order. */
  content?: string[];
  /** dir: tree blob id (hex). */
  subtree?: string;
  /** symlink: the link target as read (restored as is; never followed by restore). */
  target?: string;
}

export interface Tree {
  entries: TreeEntry[];
}

export function encodeTree(tree: Tree): Buffer {
  const entries = [...tree.entries].sort((a, b) => compareNames(a.name, b.name));
  return Buffer.from(JSON.stringify({ entries }), 'utf8');
}

export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Parses a tree and rejects anything a restore must never act on: names that
 * are empty, `.`/`..`, contain `/` or NUL, or repeat; unknown types; ids that are
 * not 32 bytes of hex. A tree is untrusted input even from our own repository.
 */
export function decodeTree(bytes: Buffer, where: string): Tree {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UnsafePathError(where, 'tree blob is not valid JSON');
  }
  const entries = (parsed as Tree | null)?.entries;
  if (!Array.isArray(entries)) throw new UnsafePathError(where, 'tree blob has no entry list');
  const seen = new Set<string>();
  for (const e of entries) {
    checkEntryName(e?.name, where);
    if (seen.has(e.name)) throw new UnsafePathError(joinTreePath(where, e.name), 'name appears twice in one directory');
    seen.add(e.name);
    const path = joinTreePath(where, e.name);
    if (e.type !== 'file' && e.type !== 'dir' && e.type !== 'symlink') throw new UnsafePathError(path, `unknown entry type ${JSON.stringify(e.type)}`);
    if (!Number.isInteger(e.mode) || !Number.isInteger(e.uid) || !Number.isInteger(e.gid) || !/^\d+$/.test(String(e.mtimeNs))) {
      throw new UnsafePathError(path, 'entry metadata is malformed');
    }
    if (e.type === 'file' && (!Array.isArray(e.content) || !e.content.every(isBlobId) || !Number.isInteger(e.size))) throw new UnsafePathError(path, 'file entry without a valid blob list');
    if (e.type === 'dir' && !isBlobId(e.subtree)) throw new UnsafePathError(path, 'directory entry without a valid subtree id');
    if (e.type === 'symlink' && (typeof e.target !== 'string' || e.target.includes('\0'))) throw new UnsafePathError(path, 'symlink entry without a valid target');
  }
  return { entries };
}

export function checkEntryName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || name === '') throw new UnsafePathError(where, 'empty or missing entry name');
  if (name === '.' || name === '..') throw new UnsafePathError(joinTreePath(where, name), 'dot entries are not allowed');
  if (name.includes('/') || name.includes('\\') || name.includes('\0')) throw new UnsafePathError(joinTreePath(where, name), 'entry names may not contain path separators or NUL');
}

function isBlobId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

export function joinTreePath(dir: string, name: string): string {
  return dir === '/' || dir === '' ? `/${name}` : `${dir}/${name}`;
}
