/** pbk repo compact: repository maintenance now (what the coordinator also runs on an interval). */
import { UsageError } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import type { Command } from './command.js';

export const repoCompactCommand: Command = {
  path: ['repo', 'compact'],
  summary: 'merges small packs, index objects and WAL manifests now',
  description:
    'Runs the coordinator\'s repository maintenance now, as serve does on its interval\n' +
    '(coordinator.json "maintenance"): WAL manifests for complete WAL files the repository lacks,\n' +
    'small packs (one per durable WAL upload) copied into full-size ones, small index objects and\n' +
    'WAL manifests merged, replaced packs deleted once their delay is over. Nothing is decrypted;\n' +
    'a run that fails leaves the repository consistent and the next one carries on.',
  role: 'operator',
  options: {
    'dry-run': { type: 'boolean', description: 'report what would be merged, change nothing' },
    grace: { type: 'string', value: 'SECONDS', description: "merge packs older than this (default: the coordinator's setting, 600); 1 merges even the newest" },
  },
  examples: ['pbk repo compact', 'pbk repo compact --dry-run --json', 'pbk repo compact --grace 1'],
  async run(ctx, values) {
    const grace = values.grace === undefined ? 0 : Number(values.grace);
    if (typeof values.grace === 'string' && !(Number.isSafeInteger(grace) && grace > 0)) throw new UsageError(`--grace takes a whole number of seconds above 0, not ${JSON.stringify(values.grace)}`, 'repo compact');
    const r = await (await ctx.operator()).compactRepository({ dryRun: values['dry-run'] === true, graceSeconds: grace });
    const n = (v: string | number) => Number(v);
    const doc = {
      dryRun: r.dryRun,
      packs: { before: n(r.packsBefore), after: n(r.packsAfter), compacted: n(r.packsCompacted), written: n(r.packsWritten), deleted: n(r.packsDeleted), orphansDeleted: n(r.orphansDeleted), pendingDeletes: n(r.pendingDeletes) },
      blobsCopied: n(r.blobsCopied),
      bytesCopied: n(r.bytesCopied),
      indexObjects: { before: n(r.indexObjectsBefore), written: n(r.indexObjectsWritten), removed: n(r.indexObjectsRemoved) },
      walManifests: { before: n(r.walManifestsBefore), written: n(r.walManifestsWritten), removed: n(r.walManifestsRemoved), filesBackfilled: n(r.walFilesBackfilled) },
      durationMs: n(r.durationMs),
    };
    ctx.out.result(doc, () =>
      [
        `${doc.dryRun ? 'would compact' : 'compacted'} ${doc.packs.compacted} small packs into ${doc.packs.written} (${doc.blobsCopied} blobs, ${formatBytes(doc.bytesCopied)} copied) in ${formatDuration(doc.durationMs)}`,
        `packs        ${doc.packs.before} -> ${doc.packs.after} (${doc.packs.deleted + doc.packs.orphansDeleted} deleted, ${doc.packs.pendingDeletes} waiting for the delete delay)`,
        `index        ${doc.indexObjects.before} objects, ${doc.indexObjects.removed} merged into ${doc.indexObjects.written}`,
        `WAL          ${doc.walManifests.before} manifests, ${doc.walManifests.removed} merged into ${doc.walManifests.written}; ${doc.walManifests.filesBackfilled} complete files backfilled`,
        '',
      ].join('\n'),
    );
  },
};
