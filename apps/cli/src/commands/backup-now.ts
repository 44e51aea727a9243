/** pbk backup now: asks a source's agent for a backup now. */
import type { v1 } from '@pbk/protocol';
import { flagValue, requiredString } from '../args.js';
import { formatBytes, formatDuration, formatTime, hex, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { NO_PROGRESS } from '../progress.js';
import { jobDoc, snapshotDoc } from '../present.js';
import type { Command } from './command.js';

export const backupNowCommand: Command = {
  path: ['backup', 'now'],
  summary: "asks a source's agent for a backup now",
  description:
    "Asks the agent of HOST to back up SOURCE now. Without --wait, returns once the coordinator\n" +
    'has accepted the job. With --wait, follows the run to its snapshot, with a progress bar when\n' +
    'stdout is a terminal; a failed run ends with its error and exit code. Ctrl-C stops waiting\n' +
    '(exit 130). Without --full the schedule decides (incremental unless a full is due).',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host whose agent runs the backup', required: true },
    source: { type: 'string', value: 'NAME', description: "source name from that agent's config", required: true },
    full: { type: 'boolean', description: 're-read and re-hash everything instead of trusting size+mtime+inode' },
    wait: { type: 'boolean', description: 'follow the run until its snapshot is committed' },
    logical: { type: 'boolean', description: 'PostgreSQL sources: a logical dump (pg_dump -Fd per database) instead of a base backup' },
  },
  examples: ['pbk backup now --host db-1 --source etc --wait', 'pbk backup now --host db-1 --source main-db --full --json', 'pbk backup now --host db-1 --source main-db --logical --wait'],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const wait = flagValue(values, 'wait');
    const operator = await ctx.operator();
    const stream = operator.startBackup({
      source: { host, name, kind: 'SOURCE_KIND_UNSPECIFIED' },
      mode: flagValue(values, 'full') ? 'BACKUP_MODE_FULL' : 'BACKUP_MODE_UNSPECIFIED',
      wait,
      variant: flagValue(values, 'logical') ? 'logical' : '',
    });
    const { jobId, accepted, final } = await followJob(stream, wait ? ctx.out.progress() : NO_PROGRESS);
    const snapshot = final?.snapshot ?? null;
    if (wait && snapshot === null) throw missingResult('the snapshot of the run');
    if (!wait && accepted === null) throw missingResult('accepting it');
    ctx.out.result({ job: jobDoc(jobId, accepted), snapshot: snapshot ? snapshotDoc(snapshot) : null }, () => {
      if (snapshot === null) return `backup of ${host}/${name} accepted: job ${hex(jobId)} on ${accepted?.host || host}; follow it with pbk status\n`;
      const s = snapshot.stats;
      const took = Number(snapshot.committedUnixMs) - Number(snapshot.timeUnixMs);
      return (
        `snapshot ${shortId(snapshot.id)} of ${host}/${name} at ${formatTime(snapshot.timeUnixMs)}: ` +
        `${Number(s?.files ?? 0)} files, ${formatBytes(s?.totalBytes ?? 0)}, ${formatBytes(s?.newBytes ?? 0)} new, ` +
        `${formatBytes(s?.uploadedBytes ?? 0)} uploaded${storedNote(s)}${took > 0 ? ` in ${formatDuration(took)}` : ''}` +
        `${Number(s?.skipped ?? 0) > 0 ? `; ${Number(s?.skipped)} entries skipped (changing or unreadable)` : ''}\n`
      );
    });
  },
};

/** ", N stored" when delta encoding stored less than was uploaded (coordinators that do not count it say 0). */
function storedNote(s: v1.SnapshotStats__Output | null | undefined): string {
  const stored = Number(s?.storedBytes ?? 0);
  return stored > 0 && stored !== Number(s?.uploadedBytes ?? 0) ? `, ${formatBytes(stored)} stored` : '';
}
