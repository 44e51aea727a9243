/** pbk snapshots: committed snapshots, newest first, with filters. */
import type { v1 } from '@pbk/protocol';
import { choiceValue, intValue, stringValue, timeValue } from '../args.js';
import { UsageError } from '../errors.js';
import { formatAgo, formatBytes, formatTime, renderTable, shortId } from '../format.js';
import type { Operator } from '../operator.js';
import { enumName, kindEnum, KINDS, snapshotDoc } from '../present.js';
import type { Command } from './command.js';

/** Enough for a screen and for every retained snapshot of a few sources; --limit 0 lists all. */
const DEFAULT_LIMIT = 100;
/** The server's page cap (operator.proto). */
const PAGE_SIZE = 1000;

export const snapshotsCommand: Command = {
  path: ['snapshots'],
  summary: 'committed snapshots, newest first',
  description:
    'Lists committed snapshots, newest first, filtered by host, source, kind and time.\n' +
    'Ids are shown as their first 8 hex digits; restore files --snapshot accepts those.',
  role: 'auditor',
  options: {
    host: { type: 'string', value: 'HOST', description: 'only this host' },
    source: { type: 'string', value: 'NAME', description: 'only this source (name from the agent config)' },
    kind: { type: 'string', value: 'KIND', description: `only this kind: ${KINDS.join(', ')}` },
    since: { type: 'string', value: 'TIME', description: 'only snapshots at or after TIME' },
    until: { type: 'string', value: 'TIME', description: 'only snapshots at or before TIME' },
    limit: { type: 'string', value: 'N', description: `at most N snapshots (default ${DEFAULT_LIMIT}; 0 for all)` },
  },
  examples: ['pbk snapshots --host db-1 --source etc', "pbk snapshots --since '2 days ago' --kind postgres", 'pbk snapshots --json --limit 0'],
  async run(ctx, values) {
    const now = ctx.now();
    const since = timeValue(values, 'since', now);
    const until = timeValue(values, 'until', now);
    if (since !== undefined && until !== undefined && since > until) throw new UsageError('--since is after --until');
    const kind = choiceValue(values, 'kind', KINDS);
    const limit = intValue(values, 'limit', { min: 0, max: 1_000_000 }) ?? DEFAULT_LIMIT;
    const filter: v1.ListSnapshotsRequest = {
      host: stringValue(values, 'host') ?? '',
      source: stringValue(values, 'source') ?? '',
      kind: kind === undefined ? 'SOURCE_KIND_UNSPECIFIED' : kindEnum(kind),
      sinceUnixMs: String(since ?? 0),
      untilUnixMs: String(until ?? 0),
    };
    const { snapshots, more } = await listSnapshots(await ctx.operator(), filter, limit);
    if (more) ctx.out.note(`(showing the newest ${limit}; more match: raise --limit, or --limit 0 for all)`);
    ctx.out.result({ snapshots: snapshots.map(snapshotDoc), more }, () => (snapshots.length === 0 ? 'no snapshots match\n' : snapshotTable(snapshots, now)));
  },
};

/** Follows pages until `limit` snapshots (0: all) or the last page; `more` when some were left. */
export async function listSnapshots(
  operator: Pick<Operator, 'listSnapshots'>,
  filter: v1.ListSnapshotsRequest,
  limit: number,
): Promise<{ snapshots: v1.SnapshotInfo__Output[]; more: boolean }> {
  const snapshots: v1.SnapshotInfo__Output[] = [];
  let pageToken = '';
  for (;;) {
    const want = limit === 0 ? PAGE_SIZE : Math.min(PAGE_SIZE, limit - snapshots.length + 1);
    const page = await operator.listSnapshots({ ...filter, limit: want, pageToken });
    snapshots.push(...page.snapshots);
    if (limit !== 0 && snapshots.length > limit) return { snapshots: snapshots.slice(0, limit), more: true };
    if (!page.nextPageToken) return { snapshots, more: false };
    if (limit !== 0 && snapshots.length === limit) return { snapshots, more: true };
    pageToken = page.nextPageToken;
  }
}

export function snapshotTable(snapshots: readonly v1.SnapshotInfo__Output[], now: number): string {
  return renderTable(
    [
      { header: 'ID' },
      { header: 'TIME (UTC)' },
      { header: 'AGE' },
      { header: 'HOST' },
      { header: 'KIND' },
      { header: 'SOURCE' },
      { header: 'MODE' },
      { header: 'FILES', align: 'right' },
      { header: 'SIZE', align: 'right' },
      { header: 'NEW', align: 'right' },
    ],
    snapshots.map((s) => [
      shortId(s.id),
      formatTime(s.timeUnixMs),
      formatAgo(s.timeUnixMs, now),
      s.source?.host ?? '-',
      enumName(s.source?.kind),
      s.source?.name ?? '-',
      enumName(s.mode),
      String(Number(s.stats?.files ?? 0)),
      formatBytes(s.stats?.totalBytes ?? 0),
      formatBytes(s.stats?.newBytes ?? 0),
    ]),
  );
}
