/** pbk validate: restore-tests a snapshot on an agent with the source's own tools. */
import { requiredString, stringValue, timeValue } from '../args.js';
import { ValidationFailedError } from '../errors.js';
import { formatDuration, formatTime, renderTable, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { jobDoc, num, snapshotDoc } from '../present.js';
import type { Command } from './command.js';

export const validateCommand: Command = {
  path: ['validate'],
  summary: 'restore-tests a snapshot (Redis: redis-check-rdb and a scratch redis-server)',
  description:
    'Restores the snapshot of SOURCE of HOST at TIME (the newest without --at) into scratch\n' +
    'space on an agent (HOST\'s, or --target-host) and checks it with the source\'s own tools.\n' +
    'Redis: redis-check-rdb on the file, then a scratch redis-server loads it and its key\n' +
    'counts are compared with those recorded at backup time. The report lists every check;\n' +
    'a failed check makes the exit code 7. Nothing is left in the scratch space afterwards.',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host the source belongs to', required: true },
    source: { type: 'string', value: 'NAME', description: "source name from that agent's config", required: true },
    at: { type: 'string', value: 'TIME', description: 'the newest snapshot at or before TIME (default: the newest)' },
    'target-host': { type: 'string', value: 'H2', description: 'run the checks on the agent of another host (default: HOST)' },
  },
  examples: ['pbk validate --host cache-1 --source sessions', "pbk validate --host cache-1 --source sessions --at '1 day ago' --target-host scratch-1 --json"],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const at = timeValue(values, 'at', ctx.now());
    const operator = await ctx.operator();
    const stream = operator.validate({ source: { host, name, kind: 'SOURCE_KIND_UNSPECIFIED' }, atUnixMs: String(at ?? 0), snapshotId: Buffer.alloc(0), targetHost: stringValue(values, 'target-host') ?? '' });
    const { jobId, accepted, final } = await followJob(stream, ctx.out.progress());
    const done = final?.done;
    const report = done?.report;
    if (!done || !report) throw missingResult('a validation report');
    const checks = report.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail }));
    ctx.out.result(
      { job: jobDoc(jobId, accepted), snapshot: done.snapshot ? snapshotDoc(done.snapshot) : null, report: { ok: report.ok, durationMs: num(report.durationMs), checks } },
      () =>
        `${report.ok ? 'validation ok' : 'validation FAILED'}: snapshot ${shortId(done.snapshot?.id)} (${formatTime(done.snapshot?.timeUnixMs ?? 0)}) of ${host}/${name} ` +
        `on ${accepted?.host || host} in ${formatDuration(report.durationMs)}\n\n` +
        renderTable([{ header: 'CHECK' }, { header: 'RESULT' }, { header: 'DETAIL' }], checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail])),
    );
    if (!report.ok) throw new ValidationFailedError(checks.filter((c) => !c.ok).map((c) => c.name));
  },
};
