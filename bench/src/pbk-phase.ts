/**
 * One phase of the storage benchmark in its own process, so its wall time and
 * peak RSS are its own: init | backup | restore | verify. The KEK comes from
 * the environment (PBK_BENCH_KEK, base64), never from argv.
 * Prints one JSON line on stdout.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backupDirectory, LocalBackend, Repository, resolveSnapshotId, loadSnapshot, restoreSnapshot, verifyRepository, type KekInput } from '@pbk/storage';

function kekFromEnv(): KekInput {
  const b64 = process.env.PBK_BENCH_KEK;
  if (!b64) throw new Error('PBK_BENCH_KEK (base64 of 32 bytes) is not set');
  return { kind: 'key', key: Buffer.from(b64, 'base64') };
}

async function main(): Promise<void> {
  const [phase, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: { repo: { type: 'string' }, data: { type: 'string' }, snapshot: { type: 'string' }, to: { type: 'string' }, 'read-data': { type: 'string' } },
  });
  if (!values.repo) throw new Error('--repo DIR is required');
  const backend = new LocalBackend(resolve(values.repo));
  const kek = kekFromEnv();
  let out: Record<string, unknown>;
  switch (phase) {
    case 'init': {
      const repo = await Repository.init(backend, kek);
      out = { id: repo.config.id };
      break;
    }
    case 'backup': {
      if (!values.data) throw new Error('--data DIR is required');
      const repo = await Repository.open(backend, kek);
      const data = resolve(values.data);
      const snap = await backupDirectory(repo, data, { source: { host: hostname(), kind: 'files', name: data } });
      out = { snapshot: snap.id, files: snap.summary.files, bytes_in: snap.summary.bytesTotal, bytes_read: snap.summary.bytesRead, bytes_new_stored: snap.summary.bytesNewStored, errors: snap.summary.errors.length };
      break;
    }
    case 'restore': {
      if (!values.snapshot || !values.to) throw new Error('--snapshot ID and --to DIR are required');
      const repo = await Repository.open(backend, kek);
      const snap = await loadSnapshot(repo, await resolveSnapshotId(repo, values.snapshot));
      const stats = await restoreSnapshot(repo, snap, resolve(values.to));
      out = { ...stats };
      break;
    }
    case 'verify': {
      const repo = await Repository.open(backend, kek);
      const report = await verifyRepository(repo, { readDataPercent: values['read-data'] === undefined ? 100 : Number(values['read-data']) });
      out = { ok: report.ok, packs: report.packs, blobs: report.blobs, snapshots: report.snapshots, problems: report.problems.slice(0, 20) };
      break;
    }
    default:
      throw new Error(`unknown phase ${phase}; use init | backup | restore | verify`);
  }
  out.max_rss_bytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`pbk-phase: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
