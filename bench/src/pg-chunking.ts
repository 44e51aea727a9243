// How chunking decides what a second PostgreSQL base backup stores (issue 4:
// "chunking aligned to 8 KiB pages in relation files may matter: measure").
//
//   npm run bench:pg-chunking -- [--scale 10] [--json]
//
// A scratch PostgreSQL 15 cluster with the chat-like dataset of
// bench:postgres (pgbench -i -s SCALE plus a `messages` table with an index).
// Its data directory (what pg_basebackup sends: everything but pg_wal and the
// runtime dirs) is read after VACUUM and CHECKPOINT, then again after the
// chat-like traffic; once with random edits and once, on a fresh cluster,
// with edits among the newest messages. Each state is cut
// with several chunkings: the repository's content-defined default (512 KiB /
// 1 MiB / 8 MiB), smaller content-defined sizes, and fixed, page-aligned
// blocks (relation files are arrays of 8 KiB pages). For every chunking it
// prints the bytes a full backup stores (unique chunks, compressed and sealed
// as the agent does) and the bytes the next one adds (chunks not seen
// before), their share, the blob counts, and an estimate of the metadata
// each blob costs (sealing 29 B + pack trailer 64 B + index entry 64 B per
// new blob; 66 B of tree content list per blob for every snapshot). The
// `second_delta_*` figures store every new chunk of the second state as the
// coordinator would, as a delta blob against the first state's chunk at the
// same offset of the same file when that takes at most half its size
// (docs/repository-format.md, "Delta blobs").
//
// Nothing here goes through pbk's processes: it measures the data, so the
// figures do not move with machine load. Reads the cluster's files as root
// into memory only; nothing is written outside the scratch cluster.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Chunker, DEFAULT_CHUNKER_OPTIONS, sealChunk, sealDeltaChunk, type ChunkerOptions } from '@pbk/storage';
import { isRoot, startPgCluster, stopAllPgClusters, type PgCluster } from '@pbk/testkit';
import { chatTraffic, createChatDataset, type ChatEdits } from './pg-chat.js';
import { runAsScript } from './system.js';
const PER_NEW_BLOB_BYTES = 29 + 64 + 64;
const PER_LISTED_BLOB_BYTES = 66;

/** Directories pg_basebackup leaves out (their contents) or that hold runtime state only. */
const SKIP = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'pg_internal.init']);

interface Strategy {
  name: string;
  cut: (data: Buffer) => Buffer[];
}

function cdc(name: string, options: ChunkerOptions): Strategy {
  return {
    name,
    cut: (data) => {
      const c = new Chunker(options);
      const out = c.push(data);
      const last = c.finish();
      if (last) out.push(last);
      return out;
    },
  };
}

function fixed(name: string, size: number): Strategy {
  return {
    name,
    cut: (data) => {
      const out: Buffer[] = [];
      for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
      return out;
    },
  };
}

const gearSeed = randomBytes(32);
const STRATEGIES: Strategy[] = [
  cdc('cdc_1m (default 512K/1M/8M)', { ...DEFAULT_CHUNKER_OPTIONS, gearSeed }),
  cdc('cdc_64k (32K/64K/512K)', { minSize: 32 * 1024, avgSize: 64 * 1024, maxSize: 512 * 1024, gearSeed }),
  cdc('cdc_16k (8K/16K/128K)', { minSize: 8 * 1024, avgSize: 16 * 1024, maxSize: 128 * 1024, gearSeed }),
  fixed('fixed_1m', 1024 * 1024),
  fixed('fixed_64k', 64 * 1024),
  fixed('fixed_8k (one page)', 8 * 1024),
];

async function* dataFiles(root: string, dir = root): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (dir === root && SKIP.has(e.name)) continue;
      yield* dataFiles(root, p);
    } else if (e.isFile() && !SKIP_FILES.has(e.name) && !e.name.startsWith('pgsql_tmp')) {
      yield relative(root, p);
    }
  }
}

interface State {
  /** Per strategy: sha256 (hex) of every chunk of this state. */
  seen: Map<string, Set<string>>;
  rawBytes: number;
  /** The files' bytes and, per strategy, each file's chunk start offsets: the bases of delta chunks. */
  files: Map<string, Buffer>;
  starts: Map<string, Map<string, number[]>>;
}

interface Figures {
  stored_bytes: number;
  blobs: number;
  listed_blobs: number;
}

/** Per strategy: what a full backup of this state stores alone (`full`), and what it adds after `before` (`added`). */
type Cut = Record<string, { full: Figures; added: Figures; addedDelta: Figures; addedByFile: Map<string, number> }>;

const dek = { id: randomBytes(16), key: randomBytes(32) };
/** Stands for the base's id: only the delta's size is measured here. */
const baseId = randomBytes(32);

/** Reads the data dir once and cuts it with every strategy. */
async function cutState(dataDir: string, before: State | undefined): Promise<{ state: State; cut: Cut }> {
  const state: State = {
    seen: new Map(STRATEGIES.map((s) => [s.name, new Set<string>()])),
    rawBytes: 0,
    files: new Map(),
    starts: new Map(STRATEGIES.map((s) => [s.name, new Map<string, number[]>()])),
  };
  const zero = (): Figures => ({ stored_bytes: 0, blobs: 0, listed_blobs: 0 });
  const cut: Cut = Object.fromEntries(STRATEGIES.map((s) => [s.name, { full: zero(), added: zero(), addedDelta: zero(), addedByFile: new Map<string, number>() }]));
  for await (const rel of dataFiles(dataDir)) {
    let data: Buffer;
    try {
      data = await readFile(join(dataDir, rel));
    } catch {
      continue; // removed while walking (a temp file): pg_basebackup skips those too
    }
    state.rawBytes += data.length;
    if (!before) state.files.set(rel, data);
    const oldData = before?.files.get(rel);
    for (const s of STRATEGIES) {
      const seen = state.seen.get(s.name)!;
      const old = before?.seen.get(s.name);
      const oldStarts = before?.starts.get(s.name)?.get(rel);
      const starts: number[] = [];
      state.starts.get(s.name)!.set(rel, starts);
      const { full, added, addedDelta, addedByFile } = cut[s.name]!;
      let at = 0;
      for (const chunk of s.cut(data)) {
        const start = at;
        starts.push(start);
        at += chunk.length;
        const h = createHash('sha256').update(chunk).digest('hex');
        full.listed_blobs++;
        added.listed_blobs++;
        if (seen.has(h)) continue;
        seen.add(h);
        const sealed = sealChunk(dek, 'data', Buffer.alloc(32), chunk).sealed.length;
        full.blobs++;
        full.stored_bytes += sealed;
        if (old?.has(h)) continue;
        added.blobs++;
        added.stored_bytes += sealed;
        addedDelta.blobs++;
        let stored = sealed;
        if (oldData && oldStarts && oldStarts.length > 0) {
          // The base: the previous state's chunk that covers this chunk's first byte.
          let lo = 0;
          let hi = oldStarts.length - 1;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (oldStarts[mid]! <= start) lo = mid;
            else hi = mid - 1;
          }
          const i = lo;
          const base = oldData.subarray(oldStarts[i]!, oldStarts[i + 1] ?? oldData.length);
          const delta = start < oldData.length ? sealDeltaChunk(dek, Buffer.from(h, 'hex'), chunk, baseId, base, sealed) : undefined;
          if (delta) stored = delta.sealed.length;
        }
        addedDelta.stored_bytes += stored;
        addedByFile.set(rel, (addedByFile.get(rel) ?? 0) + sealed);
      }
    }
  }
  return { state, cut };
}

const metadata = (f: Figures): number => f.blobs * PER_NEW_BLOB_BYTES + f.listed_blobs * PER_LISTED_BLOB_BYTES;
const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

/** The figure: what the second full adds, as a share of what the first stored. */
function compare(first: Cut, second: Cut, names: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, { full }] of Object.entries(first)) {
    const { added, addedDelta, addedByFile } = second[name]!;
    const top = [...addedByFile].sort((a, b) => b[1] - a[1]).slice(0, 5);
    out[name] = {
      first_stored_bytes: full.stored_bytes,
      first_blobs: full.blobs,
      second_stored_bytes: added.stored_bytes,
      second_new_blobs: added.blobs,
      second_listed_blobs: added.listed_blobs,
      second_share: ratio(added.stored_bytes, full.stored_bytes),
      second_delta_stored_bytes: addedDelta.stored_bytes,
      second_delta_share: ratio(addedDelta.stored_bytes, full.stored_bytes),
      second_share_with_metadata: ratio(added.stored_bytes + metadata(added), full.stored_bytes + metadata(full)),
      second_top_files: Object.fromEntries(top.map(([file, bytes]) => [names.get(file) ?? file, bytes])),
    };
  }
  return out;
}

/** Data-dir-relative path of each relation's main fork -> its name, so the report says which tables the new bytes are in. */
async function relationNames(pg: PgCluster): Promise<Map<string, string>> {
  const rows = await pg.query<{ path: string; name: string }>(
    "SELECT pg_relation_filepath(oid) AS path, relname AS name FROM pg_class WHERE pg_relation_filepath(oid) IS NOT NULL",
  );
  const names = new Map<string, string>();
  for (const r of rows) {
    names.set(r.path, r.name);
    for (const fork of ['fsm', 'vm']) names.set(`${r.path}_${fork}`, `${r.name} (${fork})`);
  }
  return names;
}

async function checkpoint(pg: PgCluster): Promise<void> {
  // Hint bits and the visibility map settle in a VACUUM, as autovacuum would do before a weekly full.
  await pg.query('VACUUM');
  await pg.query('CHECKPOINT');
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { scale: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } } });
  const scale = Number(values.scale);
  if (!Number.isInteger(scale) || scale < 1) {
    process.stderr.write('--scale takes a positive integer (pgbench scale factor)\n');
    return 2;
  }
  if (!isRoot()) {
    process.stderr.write('run as root: the cluster runs as the postgres OS user and its files are read directly\n');
    return 2;
  }
  const log = (m: string): boolean => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  const clusters: PgCluster[] = [];
  try {
    const results: Record<string, unknown> = {};
    let dataDirBytes = 0;
    let messages = 0;
    // A fresh cluster per kind of edits: after random edits, later inserts fill the holes they left all over the table.
    for (const edits of ['random', 'recent'] as ChatEdits[]) {
      log(`PostgreSQL, pgbench -i -s ${scale} + messages...`);
      const pg = await startPgCluster({ settings: { autovacuum: 'off' } });
      clusters.push(pg);
      messages = await createChatDataset(pg, scale);
      await checkpoint(pg);
      log('cutting the first state...');
      const a = await cutState(pg.dataDir, undefined);
      dataDirBytes = a.state.rawBytes;
      const traffic = await chatTraffic(pg, edits);
      await checkpoint(pg);
      log(`cutting after chat-like traffic (${edits} edits)...`);
      const b = await cutState(pg.dataDir, a.state);
      results[`after_${edits}_edits`] = { traffic, chunkings: compare(a.cut, b.cut, await relationNames(pg)) };
      await pg.cleanup();
    }
    const report = { scale, messages, data_dir_bytes: dataDirBytes, ...results };
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    // Stopped and removed: the clusters' files are a copy of the benchmark's data.
    for (const pg of clusters) await pg.cleanup().catch(() => undefined);
    await stopAllPgClusters();
  }
}

runAsScript(import.meta.url, 'pg-chunking', () => main(process.argv.slice(2)));
