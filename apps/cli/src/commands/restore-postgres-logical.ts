/** pbk restore postgres-logical: restores one database of a logical dump with pg_restore -j. */
import { flagValue, intValue, requiredString, stringValue, timeValue } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, formatDuration, formatTime, shortId } from '../format.js';
import { followJob, missingResult } from '../jobs.js';
import { jobDoc, restoreDoc } from '../present.js';
import type { Command } from './command.js';

export const restorePostgresLogicalCommand: Command = {
  path: ['restore', 'postgres-logical'],
  summary: 'restores one database of a logical dump (pg_restore -j) into a database',
  description:
    'Restores database DB from the newest logical dump of SOURCE at or before --at (default: the\n' +
    'newest) into the database CONNSTRING names, through the agent of the target host, with\n' +
    'pg_restore -j N. CONNSTRING must not carry a password: the target host\'s ~/.pgpass or\n' +
    'PGPASSFILE supplies it (secrets never travel on command lines). --clean drops objects\n' +
    'before recreating them. Roles come with the dump as globals.sql; restore them first if the\n' +
    'target cluster lacks them.',
  role: 'operator',
  options: {
    host: { type: 'string', value: 'HOST', description: 'host the source belongs to', required: true },
    source: { type: 'string', value: 'NAME', description: "postgres source name from that agent's config", required: true },
    db: { type: 'string', value: 'DB', description: 'the dumped database to restore', required: true },
    into: { type: 'string', value: 'CONNSTRING', description: 'libpq connection string of the target database (no password)', required: true },
    at: { type: 'string', value: 'TIME', description: 'the newest dump at or before TIME (default: the newest)' },
    jobs: { type: 'string', value: 'N', description: "pg_restore -j (default: the agent's jobs setting)" },
    clean: { type: 'boolean', description: 'pg_restore --clean --if-exists' },
    'target-host': { type: 'string', value: 'H2', description: 'restore through the agent of another host (default: HOST)' },
  },
  examples: [
    "pbk restore postgres-logical --host db-1 --source main --db app --into 'host=127.0.0.1 dbname=app_restored user=postgres'",
    "pbk restore postgres-logical --host db-1 --source main --db app --at '1d ago' --into postgresql://postgres@db-2/app --clean --jobs 4",
  ],
  async run(ctx, values) {
    const host = requiredString(values, 'host');
    const name = requiredString(values, 'source');
    const db = requiredString(values, 'db');
    const into = requiredString(values, 'into');
    if (/password\s*=/i.test(into) || /:\/\/[^/@]*:[^/@]*@/.test(into)) throw new UsageError('--into must not carry a password: put it in the target host\'s ~/.pgpass or PGPASSFILE');
    const jobs = intValue(values, 'jobs', { min: 1, max: 64 });
    const at = timeValue(values, 'at', ctx.now());
    const operator = await ctx.operator();
    const stream = operator.restore({
      source: { host, name, kind: 'SOURCE_KIND_POSTGRES' },
      atUnixMs: String(at ?? 0),
      snapshotId: Buffer.alloc(0),
      targetHost: stringValue(values, 'target-host') ?? '',
      postgresLogical: { database: db, into, jobs: jobs ?? 0, clean: flagValue(values, 'clean') },
    });
    const { jobId, accepted, final } = await followJob(stream, ctx.out.progress());
    const done = final?.done;
    if (!done) throw missingResult('a restore result');
    const facts = done.facts ?? {};
    ctx.out.result({ job: jobDoc(jobId, accepted), restore: { ...restoreDoc(done), facts } }, () => {
      const snap = done.snapshot;
      return `restored database ${db} from dump ${shortId(snap?.id)} (${formatTime(snap?.timeUnixMs ?? 0)}) of ${host}/${name} with pg_restore -j ${facts.jobs ?? '?'}: ${formatBytes(done.bytes)} of dump in ${formatDuration(done.durationMs)}\n`;
    });
  },
};
