/**
 * One backup run of a files source: `/` archived through the source's
 * PathSelection (backup/run.ts does BeginBackup, resume and commit).
 * Incremental runs trust the parent snapshot's size+mtime+inode: its trees
 * come through the run's blob reader (DownloadBlobs, opened with the DEKs the
 * coordinator sends). A full run re-reads everything.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { archiveDirectory, type ArchiveResult } from '@pbk/storage';
import { runBackup, type BackupDeps, type BackupModeName, type ProduceContext, type Produced } from '../backup/run.js';
import type { FilesSourceConfig } from '../config/config.js';
import { AgentError, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunBatch } from '../schedule/run-queue.js';

export { mergeModes, type BackupModeName } from '../backup/run.js';
export type FilesBackupDeps = BackupDeps;

/** Runs one backup of a files source, resuming across coordinator outages; returns the committed snapshot. */
export function runFilesBackup(deps: BackupDeps, source: FilesSourceConfig, batch: RunBatch<BackupModeName, v1.Progress>): Promise<v1.SnapshotInfo__Output> {
  return runBackup(deps, { source: { host: deps.host, kind: 'SOURCE_KIND_FILES', name: source.name }, produce: (ctx) => archiveFiles(deps, source, ctx) }, batch);
}

async function archiveFiles(deps: BackupDeps, source: FilesSourceConfig, ctx: ProduceContext): Promise<Produced> {
  const timeUnixMs = deps.clock.now();
  const skipped = await checkPaths(source.paths, ctx.log);
  if (skipped.length === source.paths.length) {
    throw new AgentError('NOT_FOUND', `none of the paths of source ${source.name} can be backed up: ${skipped.map((s) => `${s.path} (${s.message})`).join('; ')}`);
  }
  const result: ArchiveResult = await archiveDirectory(
    { sink: ctx.sink, dek: ctx.dek, idKey: ctx.idKey, chunker: ctx.chunker, ...(ctx.readTree ? { readTree: ctx.readTree } : {}) },
    '/',
    ctx.full ? undefined : ctx.parent?.treeRoot.toString('hex'),
    { full: ctx.full, exclude: source.selection.archiveExclude, workers: deps.workers, ...(ctx.zstdLevel !== undefined ? { zstdLevel: ctx.zstdLevel } : {}) },
  );
  return {
    tree: result.tree,
    timeUnixMs,
    files: result.summary.files,
    dirs: result.summary.dirs,
    totalBytes: result.summary.bytesTotal,
    bytesRead: result.summary.bytesRead,
    skipped: [...skipped, ...result.summary.errors],
    paths: [...source.paths],
    labels: {},
  };
}

/**
 * Configured paths that cannot be backed up as configured: missing, or below
 * a symlinked directory (the archiver stores links, it never follows them, so
 * the path would silently be absent). They are recorded as skipped.
 */
async function checkPaths(paths: readonly string[], log: Logger): Promise<{ path: string; message: string }[]> {
  const out: { path: string; message: string }[] = [];
  for (const p of paths) {
    if (p === '/') continue;
    try {
      await lstat(p);
      const parent = dirname(p);
      const real = await realpath(parent);
      if (real !== parent) out.push({ path: p, message: `${parent} resolves to ${real} (a symlink on the way); configure the real path` });
    } catch (err) {
      out.push({ path: p, message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot stat: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}` });
    }
  }
  if (out.length > 0) log.debug({ skipped: out.length }, 'configured paths skipped');
  return out;
}
