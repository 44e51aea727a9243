/** pbk restore postgres: point-in-time recovery of a PostgreSQL source into a new data directory. */
import { posix } from 'node:path';
import { flagValue, intValue, requiredString, stringValue, timeValue } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, formatDuration, formatTime, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { jobDoc, restoreDoc } from '../present.js';
import type { Command } from './command.js';

const LSN_RE = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

export const restorePostgresCommand: Command = {
  path: ['restore', 'postgres'],
  summary: 'point-in-time recovery of a PostgreSQL source into a new data directory',
  description:
    'Restores SOURCE of HOST to a recovery target: the newest base backup that ended before the\n' +
    'target is restored into DIR (absolute, on the target host, empty unless --force), then\n' +
    "restore_command = 'pbk-agent wal-fetch ...' and the target are written with\n" +
    "recovery_target_action = 'promote'. Give exactly one target: --time, --lsn, --xid, --name,\n" +
    'or --latest (replay every WAL file the archive has). With --start the agent starts the\n' +
    'server on 127.0.0.1 (--port, or a free one), waits until it has promoted, runs pg_amcheck\n' +
    'and reports the restored-to time; otherwise DIR is left ready to start with pg_ctl.\n' +
    '--at picks an older base backup (the newest at or before TIME) as the starting point.\n' +
    'Tablespaces outside the data directory go back where they were (which must be missing or\n' +
    'empty) unless --tablespace-map NAME=DIR[,NAME=DIR...] or --tablespace-map-all DIR (each\n' +
    'under DIR/NAME) says otherwise; pg_tblspc/OID in DIR links to them.',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host the source belongs to', required: true },
    source: { type: 'string', value: 'NAME', description: "postgres source name from that agent's config", required: true },
    time: { type: 'string', value: 'TIME', description: 'recover to this time (transactions committed at or before it)' },
    lsn: { type: 'string', value: 'LSN', description: 'recover to this WAL position (e.g. 0/3000148)' },
    xid: { type: 'string', value: 'XID', description: 'recover to this transaction id' },
    name: { type: 'string', value: 'NAME', description: 'recover to a restore point made with pg_create_restore_point()' },
    latest: { type: 'boolean', description: 'replay everything the WAL archive has' },
    exclusive: { type: 'boolean', description: 'stop just before the target instead of just after it' },
    to: { type: 'string', value: 'DIR', description: 'absolute directory on the target host: the new data directory', required: true },
    force: { type: 'boolean', description: 'allow a non-empty DIR (existing files are overwritten)' },
    start: { type: 'boolean', description: 'start the restored server, wait for promotion and check it' },
    port: { type: 'string', value: 'PORT', description: 'port for --start (default: a free one)' },
    at: { type: 'string', value: 'TIME', description: 'start from the newest base backup at or before TIME (default: the newest that reaches the target)' },
    'target-host': { type: 'string', value: 'H2', description: 'restore through the agent of another host (default: HOST)' },
    'tablespace-map': { type: 'string', value: 'NAME=DIR,...', description: 'put these tablespaces (by name or OID) in these absolute directories' },
    'tablespace-map-all': { type: 'string', value: 'DIR', description: 'put every other tablespace in DIR/NAME' },
  },
  examples: [
    "pbk restore postgres --host db-1 --source main --time '2024-05-01T10:00:00Z' --to /srv/pg-restore --start",
    'pbk restore postgres --host db-1 --source main --latest --to /var/lib/postgresql/15/restore',
    'pbk restore postgres --host db-1 --source main --lsn 0/3000148 --to /tmp/pg --start --json',
    'pbk restore postgres --host db-1 --source main --latest --to /srv/pg/data --tablespace-map fast=/srv/ssd/fast',
  ],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const to = requiredString(values, 'to');
    if (!posix.isAbsolute(to)) throw new UsageError(`--to must be an absolute path on the target host, not ${JSON.stringify(to)}`);
    const time = timeValue(values, 'time', ctx.now());
    const lsn = stringValue(values, 'lsn');
    const xid = stringValue(values, 'xid');
    const point = stringValue(values, 'name');
    const latest = flagValue(values, 'latest');
    const given = [time !== undefined, lsn !== undefined, xid !== undefined, point !== undefined, latest].filter(Boolean).length;
    if (given !== 1) throw new UsageError('give exactly one recovery target: --time, --lsn, --xid, --name or --latest');
    if (lsn !== undefined && !LSN_RE.test(lsn)) throw new UsageError(`--lsn takes an LSN like 0/3000148, not ${JSON.stringify(lsn)}`);
    if (xid !== undefined && !/^\d+$/.test(xid)) throw new UsageError(`--xid takes a transaction id (decimal), not ${JSON.stringify(xid)}`);
    if (point !== undefined && (point === '' || point.length > 63)) throw new UsageError('--name takes a restore point name of 1-63 characters');
    const start = flagValue(values, 'start');
    const port = intValue(values, 'port', { min: 1, max: 65535 });
    if (port !== undefined && !start) throw new UsageError('--port only applies with --start');
    const at = timeValue(values, 'at', ctx.now());
    const tablespaceMap = parseTablespaceMap(stringValue(values, 'tablespace-map'));
    const tablespaceMapAll = stringValue(values, 'tablespace-map-all') ?? '';
    if (tablespaceMapAll !== '' && !posix.isAbsolute(tablespaceMapAll)) throw new UsageError(`--tablespace-map-all must be an absolute directory, not ${JSON.stringify(tablespaceMapAll)}`);
    const target = time !== undefined ? { timeUnixMs: String(time) } : lsn !== undefined ? { lsn } : xid !== undefined ? { xid } : point !== undefined ? { name: point } : {};
    const operator = await ctx.operator();
    const stream = operator.restore({
      source: { host, name, kind: 'SOURCE_KIND_POSTGRES' },
      atUnixMs: String(at ?? 0),
      snapshotId: Buffer.alloc(0),
      targetHost: stringValue(values, 'target-host') ?? '',
      postgres: { targetDir: to, force: flagValue(values, 'force'), ...target, start, port: port ?? 0, exclusive: flagValue(values, 'exclusive'), tablespaceMap, tablespaceMapAll },
    });
    const { jobId, accepted, final } = await followJob(stream, ctx.out.progress());
    const done = final?.done;
    if (!done) throw missingResult('a restore result');
    const facts = done.facts ?? {};
    ctx.out.result({ job: jobDoc(jobId, accepted), restore: { ...restoreDoc(done), facts } }, () => {
      const snap = done.snapshot;
      const where = `${done.targetHost || stringValue(values, 'target-host') || host}:${done.targetDir || to}`;
      const lines = [
        `restored base backup ${shortId(snap?.id)} (${formatTime(snap?.timeUnixMs ?? 0)}) of ${host}/${name}: ${formatBytes(done.bytes)} to ${where} in ${formatDuration(done.durationMs)}`,
      ];
      if (facts.tablespaces) lines.push(`tablespaces: ${facts.tablespaces}`);
      if (facts.promoted === 'true') {
        lines.push(`server promoted on 127.0.0.1:${facts.port} (timeline ${facts.timeline ?? '?'}), restored to ${facts.restored_to ?? 'unknown time'}${facts.restored_to_lsn ? ` (LSN ${facts.restored_to_lsn})` : ''}; pg_amcheck: ${facts.amcheck ?? 'not run'}`);
      } else {
        lines.push(`recovery configured (target: ${facts.recovery_target ?? 'latest'}); start it with: pg_ctl -D ${done.targetDir || to} start (as the postgres user)`);
      }
      return `${lines.join('\n')}\n`;
    });
  },
};

/** `NAME=DIR[,NAME=DIR...]` of --tablespace-map. */
export function parseTablespaceMap(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq) : '';
    const dir = item.slice(eq + 1);
    if (name === '' || !posix.isAbsolute(dir)) throw new UsageError(`--tablespace-map takes NAME=DIR pairs (DIR absolute), comma-separated; ${JSON.stringify(item)} is not one`);
    if (name in out) throw new UsageError(`--tablespace-map names ${name} twice`);
    out[name] = dir;
  }
  return out;
}
