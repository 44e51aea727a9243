import { ObjectCorruptError } from '../errors.js';
import { OBJECT_FOLDERS, type Repository } from '../repository/index.js';

/**
 * WAL manifests (`wal/<id>`, docs/repository-format.md "WAL manifests"): which
 * data blobs, concatenated, make up each WAL file of a PostgreSQL source. They
 * make WAL recoverable from the repository and the KEK alone (DESIGN decision
 * 4) and tell GC which blobs WAL still needs. The coordinator writes one when
 * a file becomes complete; compaction merges small ones into bigger ones that
 * supersede them (as index objects do).
 */
export const WAL_MANIFEST_VERSION = 1;

export interface WalManifestFile {
  host: string;
  /** The PostgreSQL source's name. */
  source: string;
  /** WAL file name: segment, `.history`, `.backup` or a promotion's `.partial`. */
  name: string;
  size: number;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
  /** Data blob ids (hex) whose plaintexts, concatenated, are the file. */
  content: string[];
}

export interface WalManifest {
  /** Ids of WAL manifests this one replaces (readers ignore those that still exist). */
  supersedes: string[];
  files: WalManifestFile[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const WAL_NAME = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

export function encodeWalManifest(m: WalManifest): Buffer {
  const files = m.files.map((f) => ({ host: f.host, source: f.source, name: f.name, size: f.size, sha256: f.sha256, content: f.content }));
  return Buffer.from(JSON.stringify({ version: WAL_MANIFEST_VERSION, supersedes: m.supersedes, files }), 'utf8');
}

export function decodeWalManifest(id: string, payload: Buffer): WalManifest {
  const bad = (detail: string) => new ObjectCorruptError(OBJECT_FOLDERS.wal + id, detail);
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new ObjectCorruptError(OBJECT_FOLDERS.wal + id, 'not valid JSON', { cause: err });
  }
  const o = raw as { version?: unknown; supersedes?: unknown; files?: unknown };
  if (o.version !== WAL_MANIFEST_VERSION) throw bad(`unsupported WAL manifest version ${String(o.version)}`);
  if (!Array.isArray(o.supersedes) || !o.supersedes.every((s) => typeof s === 'string' && HEX64.test(s))) throw bad('supersedes is not a list of object ids');
  if (!Array.isArray(o.files)) throw bad('files is not a list');
  const files: WalManifestFile[] = [];
  for (const f of o.files as Record<string, unknown>[]) {
    const ok =
      typeof f === 'object' &&
      f !== null &&
      typeof f.host === 'string' &&
      f.host !== '' &&
      typeof f.source === 'string' &&
      f.source !== '' &&
      typeof f.name === 'string' &&
      WAL_NAME.test(f.name) &&
      Number.isSafeInteger(f.size) &&
      (f.size as number) >= 0 &&
      typeof f.sha256 === 'string' &&
      HEX64.test(f.sha256) &&
      Array.isArray(f.content) &&
      f.content.every((c) => typeof c === 'string' && HEX64.test(c));
    if (!ok) throw bad(`file entry ${files.length} is malformed (host, source, WAL name, size, sha256, content ids)`);
    files.push({ host: f.host as string, source: f.source as string, name: f.name as string, size: f.size as number, sha256: f.sha256 as string, content: f.content as string[] });
  }
  return { supersedes: o.supersedes as string[], files };
}

export async function saveWalManifest(repo: Repository, m: WalManifest): Promise<string> {
  return repo.saveObject('wal', encodeWalManifest(m));
}

export interface WalManifestSet {
  /** Every WAL manifest object present, by id (superseded ones included). */
  objects: Map<string, WalManifest>;
  /** Ids named in some present manifest's `supersedes`. */
  superseded: Set<string>;
  /** The files of the non-superseded manifests, one per (host, source, name), in name order per source. */
  files: WalManifestFile[];
  /** Files recorded twice with different content (a conflict a reader must not resolve by guessing). */
  conflicts: { file: WalManifestFile; other: WalManifestFile }[];
}

export function walFileKey(f: Pick<WalManifestFile, 'host' | 'source' | 'name'>): string {
  return `${f.host}\n${f.source}\n${f.name}`;
}

/** Reads every WAL manifest; the union of the non-superseded ones is the repository's WAL. */
export async function loadWalManifests(repo: Repository): Promise<WalManifestSet> {
  const objects = new Map<string, WalManifest>();
  for await (const id of repo.listObjects('wal')) objects.set(id, decodeWalManifest(id, await repo.loadObject('wal', id)));
  const superseded = new Set<string>();
  for (const m of objects.values()) for (const s of m.supersedes) superseded.add(s);
  const byKey = new Map<string, WalManifestFile>();
  const conflicts: WalManifestSet['conflicts'] = [];
  for (const [id, m] of objects) {
    if (superseded.has(id)) continue;
    for (const f of m.files) {
      const k = walFileKey(f);
      const had = byKey.get(k);
      if (had === undefined) byKey.set(k, f);
      else if (had.sha256 !== f.sha256 || had.size !== f.size) conflicts.push({ file: had, other: f });
    }
  }
  const files = [...byKey.values()].sort((a, b) => (walFileKey(a) < walFileKey(b) ? -1 : walFileKey(a) > walFileKey(b) ? 1 : 0));
  return { objects, superseded, files, conflicts };
}
