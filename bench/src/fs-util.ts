// Small filesystem helpers shared by the benchmark tools: size parsing, tree
// walks and byte counts. Synchronous on purpose: these run in CLI tools, never
// inside a server.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: KiB, kb: 1000, kib: KiB,
  m: MiB, mb: 1000 ** 2, mib: MiB,
  g: GiB, gb: 1000 ** 3, gib: GiB,
  t: 1024 * GiB, tb: 1000 ** 4, tib: 1024 * GiB,
};

/** Parses "1GiB", "100MiB", "512k", "1.5G", "1000000" into bytes (K/M/G alone are binary). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`cannot parse size '${text}' (try 1GiB, 200MiB, 512KiB)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`size out of range: '${text}'`);
  return bytes;
}

export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${n} B`;
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface TreeEntry {
  /** Path relative to the walked root, '/'-separated. */
  rel: string;
  type: EntryType;
  /** Size in bytes for regular files, 0 otherwise. */
  size: number;
}

/** Every entry below root (root itself excluded), in sorted, deterministic order. Never follows symlinks. */
export function walkSync(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const visit = (dir: string, prefix: string): void => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const st = lstatSync(abs);
      const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      out.push({ rel, type, size: type === 'file' ? st.size : 0 });
      if (type === 'dir') visit(abs, rel);
    }
  };
  visit(root, '');
  return out;
}

export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Sum of regular file sizes. */
  bytes: number;
}

export function treeStats(root: string): TreeStats {
  const s: TreeStats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  for (const e of walkSync(root)) {
    if (e.type === 'file') { s.files++; s.bytes += e.size; }
    else if (e.type === 'dir') s.dirs++;
    else if (e.type === 'symlink') s.symlinks++;
  }
  return s;
}

/** Total apparent size of all regular files below root (0 when root does not exist). */
export function dirBytes(root: string): number {
  try { lstatSync(root); } catch { return 0; }
  return treeStats(root).bytes;
}
