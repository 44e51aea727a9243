// Compaction of a WAL stream's small packs (issue 4, docs/repository-format.md "Compaction"):
//
//   node bench/dist/wal-compact.js [--minutes M] [--rate N] [--row-bytes B] [--switch-s S] [--interval S] [--json] [--keep]
//
// The real system (startWalSystem: scratch PostgreSQL 15 with fsync on,
// coordinator, agent streaming WAL at ~1 s RPO). Maintenance in serve is off
// unless --interval S is given (then every S seconds, with S as the grace
// period and the delete delay too; the pack count is sampled every 5 s). For M
// minutes, N single-row commits a second (B bytes of random text each) on one
// connection, and a WAL switch every --switch-s seconds (complete segments to
// check at the end). Then: the pack files
// on disk (count, size distribution), index objects and WAL manifests; one
// CompactRepository (wall time, the coordinator's CPU seconds, blobs and bytes
// copied); the same figures after; and every complete WAL file read back with
// GetWal and its SHA-256 checked against the one PutWal recorded.
//
// stdout: with --json exactly one JSON object; otherwise the same, pretty.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BlobAssembler, type v1 } from '@pbk/protocol';
import { openChunk } from '@pbk/storage';
import { startWalSystem, type WalSystem } from './postgres-rpo.js';
import { appsBuilt, connectOperator, cpuSeconds, runAsScript } from './system.js';

interface Layout {
  packs: number;
  packBytes: number;
  /** Pack files by size: < 64 KiB, < 1 MiB, < 8 MiB, >= 8 MiB. */
  sizes: { lt64KiB: number; lt1MiB: number; lt8MiB: number; ge8MiB: number };
  medianPackBytes: number;
  indexObjects: number;
  walManifests: number;
}

function layout(repo: string): Layout {
  const files = (sub: string) =>
    readdirSync(join(repo, sub), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
      .map((e) => statSync(join(e.parentPath, e.name)).size);
  const packs = files('data').sort((a, b) => a - b);
  const sizes = { lt64KiB: 0, lt1MiB: 0, lt8MiB: 0, ge8MiB: 0 };
  for (const n of packs) {
    if (n < 64 << 10) sizes.lt64KiB++;
    else if (n < 1 << 20) sizes.lt1MiB++;
    else if (n < 8 << 20) sizes.lt8MiB++;
    else sizes.ge8MiB++;
  }
  let wal = 0;
  try {
    wal = files('wal').length;
  } catch {
    wal = 0;
  }
  return {
    packs: packs.length,
    packBytes: packs.reduce((a, b) => a + b, 0),
    sizes,
    medianPackBytes: packs[Math.floor(packs.length / 2)] ?? 0,
    indexObjects: files('index').length,
    walManifests: wal,
  };
}

function unary<T>(fn: (cb: (err: Error | null, res?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as T))));
}

/** Every complete WAL file of the source through GetWal; returns how many matched their recorded SHA-256. */
async function checkWal(c: v1.AgentServiceClient, source: v1.SourceRef): Promise<{ files: number; matched: number; bytes: number }> {
  const deadline = () => ({ deadline: new Date(Date.now() + 120_000) });
  const list = await unary<v1.ListWalResponse__Output>((cb) => c.listWal({ source, fromFileName: '', limit: 10_000 }, deadline(), cb));
  let matched = 0;
  let bytes = 0;
  const complete = list.files.filter((f) => f.complete);
  for (const f of complete) {
    const call = c.getWal({ source, fileName: f.fileName, allowPartial: false }, deadline());
    const keys = new Map<string, { id: Buffer; key: Buffer }>();
    let idKey: Buffer | undefined;
    const assembler = new BlobAssembler();
    const hash = createHash('sha256');
    for await (const m of call as AsyncIterable<v1.GetWalResponse__Output>) {
      if (m.blobs!.idKey.length === 32) idKey = m.blobs!.idKey;
      for (const k of m.blobs!.keys) keys.set(k.id.toString('hex'), k);
      for (const b of assembler.push(m.blobs!.parts)) {
        const plain = openChunk(keys.get(b.dekId.toString('hex'))!, idKey!, b.id, b.sealed, b.rawLength);
        hash.update(plain);
        bytes += plain.length;
      }
    }
    if (hash.digest().equals(f.sha256)) matched++;
  }
  return { files: complete.length, matched, bytes };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '2' },
      rate: { type: 'string', default: '20' },
      'row-bytes': { type: 'string', default: '2000' },
      'switch-s': { type: 'string', default: '30' },
      interval: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  const rowBytes = Number(values['row-bytes']);
  const switchS = Number(values['switch-s']);
  const interval = Number(values.interval);
  if (!(minutes > 0) || !(rate > 0) || !(rowBytes >= 0) || !(switchS > 0) || !(interval >= 0)) {
    process.stderr.write('usage: wal-compact [--minutes M>0] [--rate N>0] [--row-bytes B>=0] [--switch-s S>0] [--interval S>=0] [--json] [--keep]\n');
    return 2;
  }
  if (!appsBuilt()) return 2;
  const work = mkdtempSync(join(tmpdir(), 'pbk-wal-compact-'));
  let sys: WalSystem | undefined;
  try {
    // Interval off: the one run measured below sees the whole load. No grace, no delete delay.
    const maintenance = interval > 0 ? { intervalSeconds: interval, compactGraceSeconds: interval, deleteDelaySeconds: interval } : { intervalSeconds: 0, compactGraceSeconds: 0, deleteDelaySeconds: 0 };
    sys = await startWalSystem(work, { maintenance });
    const repo = join(sys.data, 'repository');
    const pg = await sys.pg.client();
    let commits = 0;
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(layout(repo).packs), 5000);
    try {
      await pg.query('CREATE TABLE pbk_compact_bench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), pad text)');
      process.stderr.write(`loading: ${rate} commits/s of ${rowBytes} bytes for ${minutes} min...\n`);
      const t0 = Date.now();
      const end = t0 + minutes * 60_000;
      while (Date.now() < end) {
        await pg.query('INSERT INTO pbk_compact_bench (pad) VALUES ($1)', [randomBytes(Math.ceil(rowBytes / 2)).toString('hex').slice(0, rowBytes)]);
        commits++;
        if (commits % Math.max(1, Math.round(rate * switchS)) === 0) await pg.query('SELECT pg_switch_wal()');
        const next = t0 + (commits * 1000) / rate;
        if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
      }
      await pg.query('SELECT pg_switch_wal()');
    } finally {
      clearInterval(sampler);
      await pg.end();
    }
    // Let the agent upload the tail and seal the switched segment.
    await new Promise((r) => setTimeout(r, 5000));
    const before = layout(repo);

    const operator = await connectOperator(sys.grpc, join(sys.data, 'admin'));
    const cpu0 = cpuSeconds(sys.coord.pid);
    const w0 = performance.now();
    const report = await operator.compact(false);
    const wallS = (performance.now() - w0) / 1000;
    const cpu1 = cpuSeconds(sys.coord.pid);
    operator.close();
    const after = layout(repo);
    const wal = await checkWal(sys.client, { host: 'db-1', kind: 'SOURCE_KIND_POSTGRES', name: 'main' });

    const out = {
      bench: 'wal-compact',
      load: { minutes, commitsPerSecond: rate, rowBytes, commits, walSwitchEverySeconds: switchS },
      maintenance,
      packsDuringLoad: { samples: samples.length, max: Math.max(0, ...samples), last: samples.at(-1) ?? 0, every30s: samples.filter((_, i) => i % 6 === 5) },
      before,
      compaction: {
        wall_s: Number(wallS.toFixed(2)),
        coordinator_cpu_s: cpu0 !== null && cpu1 !== null ? Number((cpu1 - cpu0).toFixed(2)) : null,
        packsCompacted: Number(report.packsCompacted),
        packsWritten: Number(report.packsWritten),
        blobsCopied: Number(report.blobsCopied),
        bytesCopied: Number(report.bytesCopied),
        indexObjectsRemoved: Number(report.indexObjectsRemoved),
        walManifestsRemoved: Number(report.walManifestsRemoved),
        durationMs: Number(report.durationMs),
      },
      after,
      walCheck: wal,
    };
    process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
    return wal.matched === wal.files && wal.files > 0 ? 0 : 1;
  } finally {
    await sys?.stop();
    if (values.keep) process.stderr.write(`kept ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

runAsScript(import.meta.url, 'wal-compact', () => main());
