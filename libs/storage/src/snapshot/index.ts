export { encodeTree, decodeTree, checkEntryName, compareNames, joinTreePath, type Tree, type TreeEntry, type EntryType } from './tree.js';
export { saveTree, loadTree, type BlobSink } from './trees.js';
export {
  saveSnapshot,
  loadSnapshot,
  listSnapshots,
  findSnapshot,
  resolveSnapshotId,
  type Snapshot,
  type SnapshotWithId,
  type SnapshotSummary,
  type SourceRef,
  type SourceKind,
} from './snapshot.js';
