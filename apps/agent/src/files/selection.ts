/**
 * Which parts of the filesystem a files source covers. A snapshot's root tree
 * mirrors the absolute paths (docs/agent-coordinator.md): `paths: [/etc/nginx,
 * /srv/app/config.yml]` gives a root with `etc/nginx/...` and
 * `srv/app/config.yml`, every intermediate directory carrying its real
 * metadata. The agent gets exactly that by archiving `/` with this selection
 * as the archiver's exclude filter:
 *
 * - an ancestor of a configured path is kept, but only the branch leading to
 *   the configured path (its siblings are excluded);
 * - a configured path is kept whatever the exclude patterns say;
 * - inside a configured directory, the source's exclude patterns apply;
 * - everything else is excluded.
 *
 * One archiver pass (one worker pool, one parent-tree walk from the root)
 * therefore covers every path of the source, and the parent snapshot's
 * size+mtime+inode check works the same at every level.
 */
import { posix } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export class PathSelection {
  readonly paths: readonly string[];
  private readonly roots: ReadonlySet<string>;
  private readonly ancestors: ReadonlySet<string>;

  /** `paths` must be absolute and normalized, none inside another (the config loader checks). */
  constructor(
    paths: readonly string[],
    private readonly exclude: ExcludeMatcher,
  ) {
    this.paths = [...paths].sort();
    this.roots = new Set(paths);
    const ancestors = new Set<string>();
    for (const p of paths) {
      for (let d = posix.dirname(p); d !== '/' && !ancestors.has(d); d = posix.dirname(d)) ancestors.add(d);
    }
    this.ancestors = ancestors;
  }

  /** Whether an absolute path is left out of the snapshot (and not watched). */
  excluded(absPath: string, isDir: boolean | undefined): boolean {
    if (absPath === '/' || this.roots.has(absPath) || this.ancestors.has(absPath)) return false;
    for (let d = posix.dirname(absPath); ; d = posix.dirname(d)) {
      if (this.roots.has(d)) return this.exclude.matches(absPath, isDir);
      if (d === '/') return true;
    }
  }

  /** The archiver's exclude filter when archiving `/` (it passes paths relative to `/`). */
  readonly archiveExclude = (relPath: string, isDir: boolean): boolean => this.excluded(`/${relPath}`, isDir);
}
