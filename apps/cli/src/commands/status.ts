/** pbk status: the coordinator, its agents and the freshness of every source. */
import { formatAgo, formatBytes, formatDuration, formatTime, formatTimeAgo, renderTable } from '../format.js';
import { enumName, statusDoc } from '../present.js';
import type { Command } from './command.js';

/** Clock skew worth mentioning: beyond it, "3 min ago" on this screen can mislead. */
const SKEW_NOTE_MS = 5000;

export const statusCommand: Command = {
  path: ['status'],
  summary: 'the coordinator, its agents and the freshness of every source',
  description:
    'Shows the coordinator (version, region, whether it holds the writer lease), the repository,\n' +
    'every agent (connected, last heartbeat, certificate expiry) and every source (state, newest\n' +
    'snapshot, age of the newest recoverable point against its RPO target, last failure).',
  role: 'auditor',
  options: {},
  examples: ['pbk status', 'pbk status --json | jq \'.sources[] | select(.state != "ok")\''],
  async run(ctx) {
    const status = await (await ctx.operator()).status();
    const now = ctx.now();
    ctx.out.result(statusDoc(status), () => {
      const repo = status.repository;
      const serverTime = Number(status.serverTimeUnixMs);
      const skew = serverTime > 0 ? serverTime - now : 0;
      const lines = [
        `coordinator  ${status.coordinatorVersion || '?'}  region ${status.region || '-'}  ${status.primary ? 'primary (holds the writer lease)' : 'standby (no writer lease)'}`,
        `server time  ${formatTime(serverTime)}${Math.abs(skew) > SKEW_NOTE_MS ? `  (clock ${skew > 0 ? 'ahead of' : 'behind'} this host by ${formatDuration(Math.abs(skew))})` : ''}`,
        `repository   ${repo?.snapshots ?? 0} snapshots, ${repo?.packs ?? 0} packs, ${repo?.blobs ?? 0} blobs, ${formatBytes(repo?.storedBytes ?? 0)} stored`,
        '',
      ];
      let text = lines.join('\n');
      text += status.agents.length === 0
        ? '\nno agents enrolled\n'
        : `\nAGENTS\n${renderTable(
            [{ header: 'HOST' }, { header: 'VERSION' }, { header: 'CONNECTED' }, { header: 'LAST HEARTBEAT' }, { header: 'CERT EXPIRES' }],
            status.agents.map((a) => [a.host, a.agentVersion || '-', a.connected ? 'yes' : 'NO', formatTimeAgo(a.lastHeartbeatUnixMs, now), certExpiry(a.certNotAfterUnixMs, now)]),
          )}`;
      text += status.sources.length === 0
        ? '\nno sources configured\n'
        : `\nSOURCES\n${renderTable(
            [{ header: 'HOST' }, { header: 'KIND' }, { header: 'SOURCE' }, { header: 'STATE' }, { header: 'LAST SNAPSHOT' }, { header: 'RPO AGE/TARGET' }, { header: 'LAST FAILURE' }],
            status.sources.map((s) => [
              s.source?.host ?? '-',
              enumName(s.source?.kind),
              s.source?.name ?? '-',
              s.state === 'ok' || s.state === 'running' ? s.state || '-' : (s.state || '-').toUpperCase(),
              s.lastSnapshot ? formatTimeAgo(s.lastSnapshot.timeUnixMs, now) : 'never',
              `${Number(s.rpoAgeMs) > 0 ? formatDuration(s.rpoAgeMs) : '-'} / ${Number(s.rpoTargetMs) > 0 ? formatDuration(s.rpoTargetMs) : '-'}`,
              s.lastFailure ? `${formatAgo(s.lastFailureUnixMs, now)}: ${s.lastFailure.code}: ${s.lastFailure.message}` : '-',
            ]),
          )}`;
      return text;
    });
  },
};

/** Expiry date, flagged when it is near: an expired agent certificate stops backups. */
function certExpiry(notAfterMs: string, now: number): string {
  const at = Number(notAfterMs);
  if (!(at > 0)) return '-';
  const left = at - now;
  if (left <= 0) return `${formatTime(at)} EXPIRED`;
  return left < 14 * 86_400_000 ? `${formatTime(at)} (${formatAgo(at, now)}) SOON` : formatTime(at);
}
