/** pbk restore files: restores a point in time of a files source into a directory. */
import { posix } from 'node:path';
import { flagValue, requiredString, stringValue, timeValue } from '../args.js';
import { CommandError, UsageError } from '../errors.js';
import { formatBytes, formatDuration, formatTime, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import type { Operator } from '../operator.js';
import { jobDoc, restoreDoc } from '../present.js';
import type { Command } from './command.js';
import { listSnapshots } from './snapshots.js';

/** Snapshot ids are the SHA-256 of the snapshot object (32 bytes, 64 hex digits); 8 hex digits (what tables show) are unique among a source's snapshots in practice. */
const ID_HEX = 64;
const MIN_PREFIX_HEX = 8;

export const restoreFilesCommand: Command = {
  path: ['restore', 'files'],
  summary: 'restores a point in time of a files source into a directory',
  description:
    'Restores SOURCE of HOST as it was at TIME (the newest snapshot at or before it; the newest\n' +
    'of all without --at or --snapshot) into DIR on the target host, through that host\'s agent.\n' +
    'DIR must be absolute (it is a path on the target host) and empty unless --force is given\n' +
    '(exit 8 otherwise). Entries never land outside DIR. Restoring onto another host\n' +
    '(--target-host) is audited. A progress bar shows when stdout is a terminal.',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host the source belongs to', required: true },
    source: { type: 'string', value: 'NAME', description: 'files source name from that agent\'s config', required: true },
    at: { type: 'string', value: 'TIME', description: 'point in time to restore (default: the newest snapshot)' },
    snapshot: { type: 'string', value: 'ID', description: 'an exact snapshot id (hex, or its first 8+ digits) instead of --at' },
    path: { type: 'string', value: 'P', description: 'restore only this path inside the snapshot' },
    to: { type: 'string', value: 'DIR', description: 'absolute directory on the target host', required: true },
    force: { type: 'boolean', description: 'allow a non-empty DIR (existing files are overwritten)' },
    'target-host': { type: 'string', value: 'H2', description: 'restore through the agent of another host (default: HOST)' },
  },
  examples: [
    "pbk restore files --host web-1 --source etc --at '2h ago' --to /srv/restore/etc",
    'pbk restore files --host web-1 --source etc --snapshot 1a2b3c4d --path nginx/nginx.conf --to /tmp/r --force',
    'pbk restore files --host web-1 --source etc --at 2024-05-01T10:00Z --to /srv/etc --target-host web-2',
  ],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const to = requiredString(values, 'to');
    if (!posix.isAbsolute(to)) throw new UsageError(`--to must be an absolute path on the target host, not ${JSON.stringify(to)}`);
    const at = timeValue(values, 'at', ctx.now());
    const snapshotArg = stringValue(values, 'snapshot');
    if (at !== undefined && snapshotArg !== undefined) throw new UsageError('give --at or --snapshot, not both');
    const idText = snapshotArg?.toLowerCase();
    if (idText !== undefined && !(/^[0-9a-f]+$/.test(idText) && idText.length >= MIN_PREFIX_HEX && idText.length <= ID_HEX && idText.length % 2 === 0)) {
      throw new UsageError(`--snapshot takes a snapshot id in hex (${MIN_PREFIX_HEX} to ${ID_HEX} digits, as pbk snapshots shows), not ${JSON.stringify(snapshotArg)}`);
    }
    const operator = await ctx.operator();
    const snapshotId = idText === undefined ? Buffer.alloc(0) : await resolveSnapshotId(operator, host, name, idText);
    const stream = operator.restore({
      source: { host, name, kind: 'SOURCE_KIND_FILES' },
      atUnixMs: String(at ?? 0),
      snapshotId,
      targetHost: stringValue(values, 'target-host') ?? '',
      files: { path: stringValue(values, 'path') ?? '', targetDir: to, force: flagValue(values, 'force') },
    });
    const { jobId, accepted, final } = await followJob(stream, ctx.out.progress());
    const done = final?.done;
    if (!done) throw missingResult('a restore result');
    ctx.out.result({ job: jobDoc(jobId, accepted), restore: restoreDoc(done) }, () => {
      const snap = done.snapshot;
      return (
        `restored ${Number(done.files)} files, ${Number(done.dirs)} dirs, ${formatBytes(done.bytes)} ` +
        `from snapshot ${shortId(snap?.id)} (${formatTime(snap?.timeUnixMs ?? 0)}) of ${host}/${name} ` +
        `to ${done.targetHost || stringValue(values, 'target-host') || host}:${done.targetDir || to} in ${formatDuration(done.durationMs)}\n`
      );
    });
  },
};

/** A full id as is; a prefix looked up among the source's snapshots (unique, or a usage error). */
async function resolveSnapshotId(operator: Pick<Operator, 'listSnapshots'>, host: string, name: string, idText: string): Promise<Buffer> {
  if (idText.length === ID_HEX) return Buffer.from(idText, 'hex');
  const { snapshots } = await listSnapshots(operator, { host, source: name, kind: 'SOURCE_KIND_FILES' }, 0);
  const matches = snapshots.filter((s) => s.id.toString('hex').startsWith(idText));
  const [only] = matches;
  if (only === undefined) throw new CommandError('NOT_FOUND', `no snapshot of ${host}/${name} has an id starting with ${idText}: see pbk snapshots --host ${host} --source ${name}`);
  if (matches.length > 1) throw new UsageError(`snapshot id ${idText} is ambiguous (${matches.length} snapshots of ${host}/${name} start with it): give more digits`);
  return only.id;
}
