import { packIdFromName, readPackEntries, type PackEntry } from '../pack/index.js';
import type { Repository } from '../repository/index.js';

export interface RepairIndexReport {
  packsIndexed: number;
  blobsIndexed: number;
  /** Packs whose trailer could not be read (left in place for an operator to judge). */
  unreadable: { packId: string; detail: string }[];
  indexObjectsRemoved: number;
}

/**
 * Rebuilds index objects from pack trailers (decision 4: the packs alone are
 * enough). `full` re-reads every pack and supersedes every index object (a lost
 * or corrupt index); otherwise only packs no index names are added (a writer
 * killed between its pack and its index).
 */
export async function repairIndex(repo: Repository, options: { full?: boolean } = {}): Promise<RepairIndexReport> {
  const report: RepairIndexReport = { packsIndexed: 0, blobsIndexed: 0, unreadable: [], indexObjectsRemoved: 0 };
  const packs: { packId: string; entries: PackEntry[] }[] = [];
  for await (const o of repo.backend.list('data/')) {
    const packId = packIdFromName(o.name);
    if (!packId || (!options.full && repo.index.hasPack(packId))) continue;
    try {
      const entries = await readPackEntries(repo.backend, packId, repo.keys.master.metaKey);
      packs.push({ packId, entries });
      report.packsIndexed++;
      report.blobsIndexed += entries.length;
    } catch (err) {
      report.unreadable.push({ packId, detail: (err as Error).message });
    }
  }
  if (!options.full) {
    if (packs.length > 0) await repo.saveIndex({ supersedes: [], packs });
    return report;
  }
  const old: string[] = [];
  for await (const id of repo.listObjects('index')) old.push(id);
  for (const packId of [...repo.index.packIds()]) repo.index.removePack(packId);
  await repo.saveIndex({ supersedes: old, packs });
  for (const id of old) {
    await repo.deleteObject('index', id);
    report.indexObjectsRemoved++;
  }
  return report;
}
