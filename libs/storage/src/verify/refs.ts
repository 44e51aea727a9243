import type { Repository } from '../repository/index.js';
import { joinTreePath, loadSnapshot, loadTree, type Tree } from '../snapshot/index.js';
import type { Problem } from './verify.js';

export async function listSnapshotIds(repo: Repository): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of repo.listObjects('snapshot')) ids.push(id);
  return ids.sort();
}

export interface RefVisitor {
  onTree(id: string): void;
  onBlob(id: string): void;
  onProblem(p: Problem): void;
}

/**
 * Visits every tree and data blob a snapshot references, reporting what does
 * not resolve. Trees already in `seen` (shared with earlier snapshots) are not
 * walked again; a damaged shared tree marks every snapshot using it incomplete. Used by verify (completeness) and GC (mark).
 */
export async function walkSnapshotRefs(repo: Repository, snapshotId: string, seen: Map<string, boolean>, visit: RefVisitor): Promise<boolean> {
  let root: string;
  try {
    root = (await loadSnapshot(repo, snapshotId)).tree;
  } catch (err) {
    visit.onProblem({ kind: 'snapshot-corrupt', id: snapshotId, detail: (err as Error).message, snapshot: snapshotId });
    return false;
  }
  let complete = true;
  const walk = async (treeId: string, where: string): Promise<void> => {
    visit.onTree(treeId);
    const known = seen.get(treeId);
    if (known !== undefined) {
      if (!known) {
        complete = false;
        visit.onProblem({ kind: 'snapshot-incomplete', id: treeId, detail: 'shares a damaged tree with another snapshot', snapshot: snapshotId, path: where });
      }
      return;
    }
    let tree: Tree;
    try {
      tree = await loadTree(repo, treeId, where);
    } catch (err) {
      complete = false;
      seen.set(treeId, false);
      visit.onProblem({ kind: repo.index.has(Buffer.from(treeId, 'hex')) ? 'blob-corrupt' : 'blob-missing', id: treeId, detail: (err as Error).message, snapshot: snapshotId, path: where });
      return;
    }
    const wasComplete = complete;
    complete = true;
    for (const e of tree.entries) {
      const path = joinTreePath(where, e.name);
      if (e.type === 'dir') await walk(e.subtree!, path);
      else if (e.type === 'file') {
        for (const b of e.content ?? []) {
          visit.onBlob(b);
          const entry = repo.index.get(Buffer.from(b, 'hex'));
          if (!entry) {
            complete = false;
            visit.onProblem({ kind: 'snapshot-incomplete', id: b, detail: `data blob of ${path} is missing`, snapshot: snapshotId, path });
          } else if (entry.deltaBase && !repo.index.has(entry.deltaBase)) {
            complete = false;
            visit.onProblem({ kind: 'snapshot-incomplete', id: entry.deltaBase.toString('hex'), detail: `base of delta blob ${b} of ${path} is missing`, snapshot: snapshotId, path });
          }
        }
      }
    }
    seen.set(treeId, complete);
    complete = wasComplete && complete;
  };
  await walk(root, '/');
  return complete;
}
