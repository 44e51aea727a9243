/** pbk verify: checks the repository's structure, references and a share of its data. */
import { percentValue } from '../args.js';
import { VerifyProblemsError } from '../errors.js';
import { formatBytes, formatDuration, renderTable } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { jobDoc, verifyDoc } from '../present.js';
import type { Command } from './command.js';

export const verifyCommand: Command = {
  path: ['verify'],
  summary: 'checks the repository (structure, references, a share of the data)',
  description:
    'Checks the repository on the coordinator: every index, snapshot and reference always, and\n' +
    'PCT percent of the blob data read back, decrypted and re-hashed (packs picked at random each\n' +
    'run, so repeated runs cover everything). Problems are listed and the exit code is 7.',
  role: 'operator',
  options: {
    'read-data': { type: 'string', value: 'PCT', description: 'share of blob data to read back, 0-100 (default 0)' },
  },
  examples: ['pbk verify', 'pbk verify --read-data 10', 'pbk verify --read-data 100 --json'],
  async run(ctx, values) {
    const percent = percentValue(values, 'read-data') ?? 0;
    const operator = await ctx.operator();
    const { jobId, accepted, final } = await followJob(operator.verify({ readDataPercent: percent }), ctx.out.progress());
    const report = final?.report;
    if (!report) throw missingResult('a verify report');
    // Problems are the report's content: print it in full, then fail with exit 7.
    ctx.out.result({ job: jobDoc(jobId, accepted), report: verifyDoc(report) }, () => {
      const summary =
        `${report.ok ? 'verify ok' : `verify found ${report.problems.length} problem(s)`}: ${Number(report.snapshotsChecked)} snapshots, ` +
        `${Number(report.packsChecked)} packs, ${Number(report.blobsChecked)} blobs checked, ${formatBytes(report.bytesRead)} read ` +
        `(${percent}% of data) in ${formatDuration(report.durationMs)}\n`;
      if (report.problems.length === 0) return summary;
      return `${summary}\n${renderTable([{ header: 'CODE' }, { header: 'OBJECT' }, { header: 'PROBLEM' }], report.problems.map((p) => [p.code, p.object, p.message]))}`;
    });
    if (!report.ok || report.problems.length > 0) throw new VerifyProblemsError(Math.max(1, report.problems.length));
  },
};
