import type { Dek } from '@pbk/crypto';
import { keyedId } from '@pbk/crypto';
import { sealChunk } from '../blob/codec.js';
import type { SealedBlob } from '../pack/index.js';
import type { Repository } from '../repository/index.js';
import { decodeTree, encodeTree, type Tree } from './tree.js';

/** Where new blobs go: the local repository, or (in the agent) the coordinator over gRPC. */
export interface BlobSink {
  claimMissing(ids: readonly Buffer[]): boolean[] | Promise<boolean[]>;
  /**
   * `deltaHint`: the id of a blob this one most likely differs little from;
   * a sink that can store deltas may store it as one against that blob.
   */
  addBlob(blob: SealedBlob, deltaHint?: Buffer): Promise<void>;
  releaseClaims?(ids: readonly Buffer[]): void;
}

/** Seals and stores a tree unless an identical one exists; returns its id (hex) and the bytes it added. */
export async function saveTree(sink: BlobSink, dek: Dek, idKey: Buffer, tree: Tree): Promise<{ id: string; storedBytes: number }> {
  const plaintext = encodeTree(tree);
  const id = keyedId(idKey, plaintext);
  const [missing] = await sink.claimMissing([id]);
  if (!missing) return { id: id.toString('hex'), storedBytes: 0 };
  // Compress and seal only trees the repository lacks: most directories are unchanged.
  const blob = sealChunk(dek, 'tree', id, plaintext, 3);
  await sink.addBlob(blob);
  return { id: id.toString('hex'), storedBytes: blob.sealed.length };
}

export async function loadTree(repo: Pick<Repository, 'readBlob'>, id: string, where: string): Promise<Tree> {
  return decodeTree(await repo.readBlob(Buffer.from(id, 'hex'), `tree ${where}`), where);
}
