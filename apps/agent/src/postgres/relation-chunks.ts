/**
 * How a base backup cuts PostgreSQL relation files, and the delta hints of
 * their chunks (docs/repository-format.md, "Delta blobs").
 *
 * A relation file is an array of 8 KiB pages that never move inside it, and
 * a few random row updates touch a few bytes of many pages (xmax, infomask,
 * hint bits, LSN). Content-defined boundaries shift with such bytes, so
 * relation files are cut into FIXED 1 MiB chunks: chunk i of this backup is
 * the same byte range as chunk i of the previous one, and when it changed
 * its upload carries that previous chunk's id as a hint (delta_base), which
 * the coordinator may store it as a small delta against.
 */
import type { v1 } from '@pbk/protocol';
import type { Tree } from '@pbk/storage';
import type { ProduceContext } from '../backup/run.js';
import { messageOf } from '../errors.js';

/** Chunk size of relation files: a multiple of the 8 KiB page, as large as the repository's average chunk. */
export const RELATION_CHUNK_BYTES = 1024 * 1024;

/** Snapshots looked at (newest first) to find the previous base backup among logical dumps of the same source. */
const MAX_LOOKS = 32;

const ID_BYTES = 32;

/**
 * A relfilenode with an optional fork (_fsm, _vm, _init) and segment (.1)
 * suffix, in a database directory: base/<dboid>/, global/, or a tablespace's
 * pg_tblspc/<spcoid>/<version dir>/<dboid>/.
 */
const RELATION_FILE = /^(?:base\/\d+|global|pg_tblspc\/\d+\/[^/]+\/\d+)\/\d+(?:_(?:fsm|vm|init))?(?:\.\d+)?$/;

/** Whether `path` (relative to the data directory, as pg_basebackup's tar names it) is a relation data file. */
export function isRelationFile(path: string): boolean {
  return RELATION_FILE.test(path);
}

/** Root directories that hold relation files. */
const RELATION_ROOTS = new Set(['base', 'global', 'pg_tblspc']);

/** The chunk ids of each relation file of a base backup: path -> ids concatenated (32 bytes each, ~1 per MiB of data). */
export type RelationChunks = Map<string, Buffer>;

/** The hint for chunk `index` of a relation file whose previous chunks were `previous`. */
export function hintAt(previous: Buffer): (index: number) => Buffer | undefined {
  return (index) => {
    const at = index * ID_BYTES;
    return at + ID_BYTES <= previous.length ? previous.subarray(at, at + ID_BYTES) : undefined;
  };
}

/** Reads the relation files' chunk ids out of a base backup's trees (only base/, global/ and pg_tblspc/ are walked). */
export async function relationChunksOf(rootTree: string, readTree: (id: string, where: string) => Promise<Tree>): Promise<RelationChunks> {
  const out: RelationChunks = new Map();
  const walk = async (treeId: string, dir: string): Promise<void> => {
    const tree = await readTree(treeId, dir === '' ? '/' : dir);
    // Sibling directories at once: the blob reader fetches them in one call.
    await Promise.all(
      tree.entries.map(async (e) => {
        const path = dir === '' ? e.name : `${dir}/${e.name}`;
        if (e.type === 'dir' && e.subtree !== undefined) {
          if (dir === '' && !RELATION_ROOTS.has(e.name)) return;
          await walk(e.subtree, path);
        } else if (e.type === 'file' && e.content !== undefined && e.content.length > 0 && isRelationFile(path)) {
          out.set(path, Buffer.concat(e.content.map((hex) => Buffer.from(hex, 'hex'))));
        }
      }),
    );
  };
  await walk(rootTree, '');
  return out;
}

function isBaseBackup(s: v1.SnapshotInfo__Output): boolean {
  return s.labels['type'] === 'base';
}

/**
 * The relation chunks of the source's previous base backup, or an empty map
 * when there is none or it cannot be read (logged once): the backup then
 * goes on without hints, which cost it nothing but the deltas.
 */
export async function previousRelationChunks(ctx: Pick<ProduceContext, 'findEarlier' | 'log' | 'signal'>): Promise<RelationChunks> {
  if (ctx.findEarlier === undefined) return new Map();
  let snapshot: string | undefined;
  try {
    const earlier = await ctx.findEarlier(isBaseBackup, MAX_LOOKS);
    if (earlier === undefined) {
      ctx.log.info('no earlier base backup of this source: relation chunks are uploaded without delta hints');
      return new Map();
    }
    snapshot = earlier.snapshot.id.toString('hex');
    const chunks = await relationChunksOf(earlier.snapshot.treeRoot.toString('hex'), earlier.readTree);
    let ids = 0;
    for (const b of chunks.values()) ids += b.length / ID_BYTES;
    ctx.log.info({ previous: snapshot, relationFiles: chunks.size, chunks: ids }, 'delta hints from the previous base backup');
    return chunks;
  } catch (err) {
    // The run failing (and closing its readers) is not worth a second message.
    if (!ctx.signal.aborted) ctx.log.warn({ previous: snapshot, err: messageOf(err) }, 'cannot read the previous base backup for delta hints; this backup stores changed relation chunks whole');
    return new Map();
  }
}
