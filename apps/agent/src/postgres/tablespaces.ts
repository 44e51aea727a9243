/**
 * Tablespaces outside the data directory at restore time. A base backup's
 * tree holds each one under pg_tblspc/<oid>/ (base-backup.ts) and its labels
 * say where it lived and what it was called; the restore writes the tree,
 * then moves each pg_tblspc/<oid> to its place and leaves a symlink there,
 * the layout PostgreSQL expects. The place is what the operator mapped
 * (by name or OID), else tablespace_map_all/<name>, else where it was when
 * backed up, as pg_basebackup and pgBackRest do; it must be missing or empty,
 * since the source cluster may still use the original, and this is checked
 * before anything is restored.
 */
import { cp, lstat, mkdir, readdir, rename, rm, rmdir, symlink } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative } from 'node:path';
import { AgentError } from '../errors.js';
import { chownTree } from './os-user.js';

export interface BackedUpTablespace {
  oid: string;
  /** Its name when the backup recorded names (the OID otherwise). */
  name: string;
  /** Where it lived on the server. */
  location: string;
}

export interface TablespacePlacement extends BackedUpTablespace {
  /** Where the restore puts it. */
  to: string;
}

/** The tablespaces a base backup's labels name: `tablespace_map` ("oid path" lines) and `tablespace_names` ("oid name" lines). */
export function backedUpTablespaces(labels: Record<string, string>): BackedUpTablespace[] {
  const names = new Map<string, string>();
  for (const line of (labels.tablespace_names ?? '').split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m) names.set(m[1]!, m[2]!);
  }
  const out: BackedUpTablespace[] = [];
  for (const line of (labels.tablespace_map ?? '').split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m) out.push({ oid: m[1]!, name: names.get(m[1]!) ?? m[1]!, location: m[2]! });
  }
  return out;
}

/** Where each tablespace goes (pure: the options and labels only). Refuses mappings that name no tablespace of the backup and places that clash. */
export function placeTablespaces(tablespaces: readonly BackedUpTablespace[], map: Record<string, string>, all: string, target: string): TablespacePlacement[] {
  const known = new Set(tablespaces.flatMap((t) => [t.oid, t.name]));
  for (const key of Object.keys(map)) {
    if (!known.has(key)) {
      const have = tablespaces.map((t) => `${t.name} (${t.oid})`).join(', ') || 'none';
      throw new AgentError('INVALID_ARGUMENT', `--tablespace-map names ${JSON.stringify(key)}, which is not a tablespace of this base backup (it has: ${have})`);
    }
  }
  if (all !== '' && !isAbsolute(all)) throw new AgentError('INVALID_ARGUMENT', `--tablespace-map-all must be an absolute directory, not ${JSON.stringify(all)}`);
  const placed = tablespaces.map((t) => {
    const mapped = map[t.name] ?? map[t.oid];
    // Trailing slashes dropped, so '/x/' and '/x' are one place.
    const to = normalize(mapped ?? (all !== '' ? join(all, t.name) : t.location)).replace(/(.)\/+$/, '$1');
    if (!isAbsolute(to)) throw new AgentError('INVALID_ARGUMENT', `tablespace ${t.name} would go to ${JSON.stringify(to)}: give an absolute directory`);
    const inside = relative(target, to);
    if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
      throw new AgentError('INVALID_ARGUMENT', `tablespace ${t.name} would go to ${to}, inside the new data directory ${target}: PostgreSQL wants tablespaces outside it; map it elsewhere`);
    }
    return { ...t, to };
  });
  const seen = new Map<string, string>();
  for (const p of placed) {
    const other = seen.get(p.to);
    if (other !== undefined) throw new AgentError('INVALID_ARGUMENT', `tablespaces ${other} and ${p.name} would both go to ${p.to}: map one elsewhere`);
    seen.set(p.to, p.name);
  }
  return placed;
}

/** Each place must be missing or an empty directory: never mix a restored tablespace into a live one. */
export async function checkPlacesFree(placed: readonly TablespacePlacement[]): Promise<void> {
  for (const p of placed) {
    let st;
    try {
      st = await lstat(p.to);
    } catch {
      continue;
    }
    const hint = `map it elsewhere with --tablespace-map ${p.name}=DIR or --tablespace-map-all DIR`;
    if (!st.isDirectory()) throw new AgentError('FAILED_PRECONDITION', `tablespace ${p.name} would go to ${p.to}, which exists and is not a directory; ${hint}`);
    if ((await readdir(p.to)).length > 0) {
      throw new AgentError(
        'FAILED_PRECONDITION',
        `tablespace ${p.name} would go to ${p.to}, which is not empty${p.to === p.location ? ' (it is where the backed-up cluster keeps it, and that cluster may still use it)' : ''}; ${hint}`,
      );
    }
  }
}

/** Moves each restored pg_tblspc/<oid> to its place, links it back, and hands it to the PostgreSQL OS user. */
export async function moveTablespaces(target: string, placed: readonly TablespacePlacement[], ids: { uid: number; gid: number }): Promise<void> {
  for (const p of placed) {
    const restored = join(target, 'pg_tblspc', p.oid);
    const st = await lstat(restored).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) throw new AgentError('CORRUPT', `the base backup names tablespace ${p.name} (${p.oid}) but its tree has no pg_tblspc/${p.oid} directory`);
    await rmdir(p.to).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e; // checked empty before the restore: anything else is news worth stopping for
    });
    await mkdir(join(p.to, '..'), { recursive: true, mode: 0o700 });
    try {
      await rename(restored, p.to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      // Another filesystem (the usual reason for a tablespace): copy, then drop the restored copy.
      await cp(restored, p.to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, errorOnExist: true });
      await rm(restored, { recursive: true });
    }
    await symlink(p.to, restored);
    await chownTree(p.to, ids.uid, ids.gid);
  }
  // A tablespace in the tree that the labels do not name (the label text is bounded) would stop PostgreSQL with a PANIC: say so now.
  // Only for backups that name tablespaces: a cluster's own in-place tablespaces (allow_in_place_tablespaces) are directories there.
  if (placed.length === 0) return;
  const left: string[] = [];
  for (const e of await readdir(join(target, 'pg_tblspc'), { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) left.push(e.name);
  if (left.length > 0) {
    throw new AgentError(
      'FAILED_PRECONDITION',
      `the backup holds tablespace ${left.map((o) => `pg_tblspc/${o}`).join(', ')} but its labels do not say where it lived (more tablespaces than the tablespace_map label holds); move each to a directory outside ${target} and replace it with a symlink to it, then start the server`,
    );
  }
}
