/**
 * Walks the trees of a snapshot (or of a tree about to become one), reading
 * each tree blob through the repository (so its id is re-checked) and
 * decoding it with storage's strict decoder (so a malformed tree is refused).
 * Used by CommitBackup (is everything the tree names durable?) and by
 * DownloadBlobs (which ids does a snapshot reference?).
 */
import { loadTree, type Repository } from '@pbk/storage';

function joinTreePath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export interface WalkVisitor {
  /** Return true to skip a tree already known to be complete (and not descend). */
  skipTree?(treeHex: string): boolean;
  onTree?(treeHex: string, path: string): void;
  onBlob?(blobHex: string, path: string): void;
  /** A tree or data blob that is not present (by `isPresent`). */
  onMissing?(idHex: string, path: string, type: 'tree' | 'data'): void;
  /** What counts as present; default: in the repository's index. Trees not present are not descended. */
  isPresent?(id: Buffer): boolean;
}

export async function walkTrees(repo: Repository, rootHex: string, visit: WalkVisitor): Promise<void> {
  const present = visit.isPresent ?? ((id: Buffer) => repo.index.has(id));
  const seen = new Set<string>();
  const stack: { id: string; path: string }[] = [{ id: rootHex, path: '/' }];
  while (stack.length > 0) {
    const { id, path } = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (visit.skipTree?.(id)) continue;
    visit.onTree?.(id, path);
    if (!present(Buffer.from(id, 'hex'))) {
      visit.onMissing?.(id, path, 'tree');
      continue;
    }
    const tree = await loadTree(repo, id, path);
    for (const e of tree.entries) {
      const child = joinTreePath(path, e.name);
      if (e.type === 'dir' && e.subtree !== undefined) stack.push({ id: e.subtree, path: child });
      else if (e.type === 'file') {
        for (const b of e.content ?? []) {
          visit.onBlob?.(b, child);
          if (!present(Buffer.from(b, 'hex'))) visit.onMissing?.(b, child, 'data');
        }
      }
    }
  }
}
