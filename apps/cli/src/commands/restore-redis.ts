/** pbk restore redis: writes a Redis snapshot's RDB to a file, or into a stopped instance's data dir. */
import { posix } from 'node:path';
import { flagValue, requiredString, stringValue, timeValue } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, formatDuration, formatTime, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { jobDoc, restoreDoc } from '../present.js';
import type { Command } from './command.js';

const ADDRESS_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}$/;

export const restoreRedisCommand: Command = {
  path: ['restore', 'redis'],
  summary: 'restores a Redis snapshot (an RDB) to a file or into a stopped instance',
  description:
    'Restores the RDB dump of redis SOURCE of HOST as it was at TIME (the newest snapshot at or\n' +
    'before it; the newest without --at), through the agent of HOST (or --target-host).\n' +
    '  --to FILE        writes the RDB to FILE (absolute, on the target host); an existing FILE\n' +
    '                   is refused (exit 8) unless --force.\n' +
    '  --into HOST:PORT restores into the data dir of that Redis instance, which must be\n' +
    '                   configured as a redis source on the agent and STOPPED (refused while it\n' +
    '                   answers). Its current RDB is moved aside, never deleted. With appendonly\n' +
    '                   yes the AOF would override the RDB on start: the result says what to do\n' +
    '                   (docs/redis.md, "Restoring into an instance").\n' +
    'Every blob is checked against its id; a damaged one fails the restore (exit 6) naming it,\n' +
    'and nothing is written under the target name.',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host the source belongs to', required: true },
    source: { type: 'string', value: 'NAME', description: "redis source name from that agent's config", required: true },
    at: { type: 'string', value: 'TIME', description: 'point in time to restore (default: the newest snapshot)' },
    to: { type: 'string', value: 'FILE', description: 'absolute path of the RDB file to write on the target host' },
    into: { type: 'string', value: 'HOST:PORT', description: 'a stopped Redis instance configured on the target agent' },
    force: { type: 'boolean', description: 'replace an existing --to FILE' },
    'target-host': { type: 'string', value: 'H2', description: 'restore through the agent of another host (default: HOST)' },
  },
  examples: [
    "pbk restore redis --host cache-1 --source sessions --at '2h ago' --to /srv/restore/dump.rdb",
    'pbk restore redis --host cache-1 --source sessions --into 127.0.0.1:6379',
    'pbk restore redis --host cache-1 --source sessions --to /tmp/sessions.rdb --target-host cache-2 --json',
  ],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const to = stringValue(values, 'to');
    const into = stringValue(values, 'into');
    if ((to === undefined) === (into === undefined)) throw new UsageError('give exactly one of --to FILE or --into HOST:PORT');
    if (to !== undefined && !posix.isAbsolute(to)) throw new UsageError(`--to must be an absolute path on the target host, not ${JSON.stringify(to)}`);
    if (into !== undefined && !ADDRESS_RE.test(into)) throw new UsageError(`--into must be HOST:PORT of a Redis instance (e.g. 127.0.0.1:6379), not ${JSON.stringify(into)}`);
    const force = flagValue(values, 'force');
    if (force && into !== undefined) throw new UsageError('--force applies to --to only: --into moves the current RDB aside instead of replacing it');
    const at = timeValue(values, 'at', ctx.now());
    const operator = await ctx.operator();
    const stream = operator.restore({
      source: { host, name, kind: 'SOURCE_KIND_REDIS' },
      atUnixMs: String(at ?? 0),
      snapshotId: Buffer.alloc(0),
      targetHost: stringValue(values, 'target-host') ?? '',
      redis: { toFile: to ?? '', into: into ?? '', force },
    });
    const { jobId, accepted, final } = await followJob(stream, ctx.out.progress());
    const done = final?.done;
    if (!done) throw missingResult('a restore result');
    const facts = { ...done.facts };
    ctx.out.result({ job: jobDoc(jobId, accepted), restore: { ...restoreDoc(done), facts } }, () => {
      const snap = done.snapshot;
      const where = `${done.targetHost || stringValue(values, 'target-host') || host}:${facts.rdb_file ?? to ?? done.targetDir}`;
      const lines = [
        `restored the RDB (${formatBytes(done.bytes)}${facts.keys ? `, keys ${facts.keys}` : ''}) of snapshot ${shortId(snap?.id)} (${formatTime(snap?.timeUnixMs ?? 0)}) ` +
          `of ${host}/${name} to ${where} in ${formatDuration(done.durationMs)}`,
      ];
      if (facts.moved_aside) lines.push(`the previous RDB was moved to ${facts.moved_aside}`);
      if (facts.warning) lines.push(`WARNING: ${facts.warning}`);
      if (facts.next_step) lines.push(`next: ${facts.next_step}`);
      return `${lines.join('\n')}\n`;
    });
  },
};
