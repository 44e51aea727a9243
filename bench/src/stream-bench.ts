// The stream benchmark: storeStream (the path of PostgreSQL base backups,
// Redis dumps and WAL) on its own, in one process, with no disk or network
// source in the way.
//
//   npm run bench:stream -- [--size 512MiB] [--workers N | --pool] [--claim-batch SIZE] [--claim-ms MS] [--seed N] [--label TEXT]
//   bash scripts/bench.sh stream [same args]      (builds first)
//
// Generates --size of semi-compressible data in memory (1 MiB segments,
// alternating log-like text and AES-CTR random bytes, so zstd roughly halves
// it), then stores it as one stream, handed over in 1 MiB pieces, into a
// fresh local test repository (makeTestRepo) with the real chunker defaults
// (512 KiB / 1 MiB / 8 MiB) and 16 MiB packs. Two runs: `first` (every chunk
// is new: chunk, id, claim, seal, pack) and `again` (the same stream once
// more: everything deduplicates; chunk, id and claim only). The repository is
// flushed inside the timed part of the first run.
//
// --claim-ms delays every claimMissing answer by MS (default 0), standing in
// for the agent's MissingBlobs gRPC round trip. --pool passes a SealPool the
// way a base backup does (started before the timed part, reused by both
// runs); --claim-batch 32MiB is a base backup's claim batch.
//
// stdout: exactly one JSON object; progress goes to stderr.
import { createCipheriv, createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CHUNKER_OPTIONS, SealPool, storeStream, type BlobSink, type StreamContext } from '@pbk/storage';
import { makeTestRepo } from '@pbk/storage/testing';
import { MiB, parseSize } from './fs-util.js';
import { Rng, textGen } from './gen-data.js';

const USAGE = `usage: node bench/dist/stream-bench.js [options]
  --size SIZE      bytes of generated data (default 512MiB)
  --workers N      seal workers (StreamContext.workers; default: storeStream's own default)
  --pool           pass one SealPool (default workers) to both runs, as a base backup does
  --claim-batch S  StreamContext.claimBatchBytes (default: storeStream's, 4 MiB)
  --claim-ms MS    delay each claimMissing answer by MS, like a gRPC round trip (default 0)
  --seed N         generator seed (default 1)
  --label TEXT     copied into the JSON (e.g. before / after)`;

const PIECE = MiB;

/** Deterministic, about half compressible: text and random bytes in alternating 1 MiB segments. */
export function generate(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const key = createHash('sha256').update(`stream-bench/${seed}/key`).digest();
  const ctr = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const text = textGen('log', new Rng(`stream-bench/${seed}/text`));
  let pos = 0;
  for (let seg = 0; pos < size; seg++) {
    const end = Math.min(size, pos + MiB);
    if (seg % 2 === 1) {
      ctr.update(Buffer.alloc(end - pos)).copy(out, pos);
      pos = end;
    } else {
      while (pos < end) pos += text(end - pos).copy(out, pos, 0, end - pos);
    }
  }
  return out;
}

async function* pieces(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += PIECE) yield data.subarray(i, i + PIECE);
}

function delayed(sink: BlobSink, ms: number): BlobSink {
  if (ms <= 0) return sink;
  return {
    claimMissing: async (ids) => {
      const answer = await sink.claimMissing(ids);
      await new Promise((r) => setTimeout(r, ms));
      return answer;
    },
    addBlob: (b) => sink.addBlob(b),
    releaseClaims: (ids) => sink.releaseClaims?.(ids),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '512MiB' },
      workers: { type: 'string' },
      pool: { type: 'boolean', default: false },
      'claim-batch': { type: 'string' },
      'claim-ms': { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.error(USAGE);
    return;
  }
  const size = parseSize(values.size);
  const claimMs = Number(values['claim-ms']);
  const workers = values.workers !== undefined ? Number(values.workers) : undefined;
  process.stderr.write(`generating ${size / MiB} MiB...\n`);
  const data = generate(size, Number(values.seed));
  const t = await makeTestRepo({ chunker: DEFAULT_CHUNKER_OPTIONS, packTargetBytes: 16 * MiB });
  try {
    const { repo } = t;
    const dek = await repo.keys.newDek();
    const pool = values.pool ? new SealPool({ dek, idKey: repo.keys.master.idKey }) : undefined;
    const claimBatchBytes = values['claim-batch'] !== undefined ? parseSize(values['claim-batch']) : undefined;
    const ctx: StreamContext = {
      sink: delayed(repo, claimMs),
      dek,
      idKey: repo.keys.master.idKey,
      chunker: repo.chunkerOptions,
      ...(workers !== undefined ? { workers } : {}),
      ...(pool !== undefined ? { pool } : {}),
      ...(claimBatchBytes !== undefined ? { claimBatchBytes } : {}),
    };
    process.stderr.write('first run (all new)...\n');
    let t0 = performance.now();
    const first = await storeStream(ctx, pieces(data));
    await repo.flush();
    const firstS = (performance.now() - t0) / 1000;
    process.stderr.write('second run (all deduplicated)...\n');
    t0 = performance.now();
    const again = await storeStream(ctx, pieces(data));
    const againS = (performance.now() - t0) / 1000;
    await pool?.close();
    if (again.content.join() !== first.content.join() || first.size !== size) throw new Error('the two runs stored different content');
    const mb = size / MiB;
    const round = (n: number, d = 3): number => Number(n.toFixed(d));
    const result = {
      ...(values.label !== undefined ? { label: values.label } : {}),
      mb,
      seconds: round(firstS),
      mb_per_s: round(mb / firstS, 1),
      seconds_dedup: round(againS),
      mb_per_s_dedup: round(mb / againS, 1),
      workers: pool !== undefined ? 'pool' : (workers ?? 'default'),
      claim_batch_bytes: claimBatchBytes ?? 'default',
      cores: availableParallelism(),
      claim_ms: claimMs,
      chunks: first.content.length,
      blobs_new: first.blobsNew,
      stored_ratio: round(first.bytesNewStored / size),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await t.cleanup();
  }
}

// Only when run as the script: wire-bench imports generate().
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
