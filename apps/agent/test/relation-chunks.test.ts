// Which base-backup members are relation files (cut into fixed chunks), and
// the delta hints read from a previous base backup's trees.
import { describe, expect, it } from 'vitest';
import type { v1 } from '@pbk/protocol';
import type { Tree, TreeEntry } from '@pbk/storage';
import { silentLogger } from '../src/logger.js';
import { hintAt, isRelationFile, previousRelationChunks, relationChunksOf } from '../src/postgres/relation-chunks.js';

const META = { mode: 0o600, uid: 26, gid: 26, mtimeNs: '1' };
const id = (n: number): string => n.toString(16).padStart(64, '0');

describe('isRelationFile', () => {
  it('takes relfilenodes with fork and segment suffixes in database directories', () => {
    for (const p of ['base/5/16384', 'base/5/16384.1', 'base/5/16384_fsm', 'base/5/16384_vm', 'base/5/16384_init', 'base/1/1259', 'global/1262', 'global/1262_vm', 'pg_tblspc/16400/PG_15_202209061/5/16401.12']) {
      expect(isRelationFile(p), p).toBe(true);
    }
  });

  it('leaves everything else to content-defined chunking', () => {
    for (const p of ['PG_VERSION', 'base/5/PG_VERSION', 'base/5/pg_filenode.map', 'global/pg_control', 'global/pg_filenode.map', 'base/5/t3_16384', 'base/5/16384_xyz', 'base/5/16384.', 'pg_wal/000000010000000000000001', 'pg_xact/0000', 'backup_manifest', 'base/16384', 'base/5/sub/16384', 'pg_tblspc/16400']) {
      expect(isRelationFile(p), p).toBe(false);
    }
  });
});

describe('delta hints from the previous base backup', () => {
  /**
   * In-memory trees: directory path ('' for the root) -> entries; a dir entry's
   * subtree is its path's tree. Records the directories read.
   */
  function trees(layout: Record<string, TreeEntry[]>) {
    const dirs = Object.keys(layout);
    const idOf = (dir: string): string => id(1000 + dirs.indexOf(dir));
    const reads: string[] = [];
    return {
      root: idOf(''),
      reads,
      readTree: async (tid: string, where: string): Promise<Tree> => {
        const dir = dirs.find((d) => idOf(d) === tid);
        if (dir === undefined) throw new Error(`no tree ${tid}`);
        reads.push(where);
        return { entries: layout[dir]!.map((e) => (e.type === 'dir' ? { ...e, subtree: idOf(dir === '' ? e.name : `${dir}/${e.name}`) } : e)) };
      },
    };
  }
  const dir = (name: string): TreeEntry => ({ name, type: 'dir', ...META });
  const file = (name: string, content: string[]): TreeEntry => ({ name, type: 'file', ...META, size: content.length, content });

  it('collects the chunk ids of relation files only, walking base/, global/ and pg_tblspc/ only', async () => {
    const s = trees({
      '': [file('PG_VERSION', [id(1)]), dir('base'), dir('global'), dir('pg_wal')],
      base: [dir('5')],
      'base/5': [file('16384', [id(2), id(3), id(4)]), file('16384_vm', [id(5)]), file('pg_filenode.map', [id(6)]), file('16390', [])],
      global: [file('1262', [id(7)])],
      pg_wal: [file('000000010000000000000001', [id(8)])],
    });
    const got = await relationChunksOf(s.root, s.readTree);
    expect([...got.keys()].sort()).toEqual(['base/5/16384', 'base/5/16384_vm', 'global/1262']);
    const hint = hintAt(got.get('base/5/16384')!);
    expect([0, 1, 2, 3].map((i) => hint(i)?.toString('hex'))).toEqual([id(2), id(3), id(4), undefined]);
    expect(s.reads.sort()).toEqual(['/', 'base', 'base/5', 'global']);
  });

  it('finds the newest BASE backup through findEarlier, and goes on without hints when there is none or it cannot be read', async () => {
    const log = silentLogger();
    const signal = new AbortController().signal;
    const s = trees({ '': [dir('global')], global: [file('1262', [id(9)])] });
    const snap = (type: string) => ({ id: Buffer.alloc(16, 1), treeRoot: Buffer.from(s.root, 'hex'), labels: { type } }) as unknown as v1.SnapshotInfo__Output;
    let accepted: boolean[] = [];
    const found = await previousRelationChunks({
      log,
      signal,
      findEarlier: async (accept) => {
        accepted = [accept(snap('logical')), accept(snap('base'))];
        return { snapshot: snap('base'), readTree: s.readTree };
      },
    });
    expect(accepted).toEqual([false, true]);
    expect(found.get('global/1262')?.toString('hex')).toBe(id(9));

    expect((await previousRelationChunks({ log, signal, findEarlier: async () => undefined })).size).toBe(0);
    expect((await previousRelationChunks({ log, signal })).size).toBe(0);
    const broken = await previousRelationChunks({
      log,
      signal,
      findEarlier: async () => ({ snapshot: snap('base'), readTree: async () => Promise.reject(new Error('blob missing')) }),
    });
    expect(broken.size).toBe(0);
  });
});
