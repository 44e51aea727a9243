/**
 * Restore tests of PostgreSQL snapshots (ValidateCommand, DESIGN decision
 * 11c), in scratch space that is removed afterwards:
 * - a base backup is restored, recovered with WAL from the archive up to its
 *   own end LSN (where it becomes consistent), started on a free loopback
 *   port, promoted and checked with pg_amcheck; then stopped and deleted;
 * - a logical dump is restored to a scratch directory and each database's
 *   `pg_restore -l` table count compared with what the dump recorded.
 * A failed check is a report with ok=false, not an error of the command.
 */
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { v1 } from '@pbk/protocol';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { runRestore, type RestoreDeps, type RestoreRun } from '../restore/restore.js';
import { runProgram } from './connection.js';
import { countTables, dumpDirName } from './logical.js';
import { osUserIds, spawnAs } from './os-user.js';
import { runPitrRestore, type PitrTools } from './restore.js';

export async function validatePostgres(deps: RestoreDeps & { log: Logger }, tools: PitrTools, cmd: v1.ValidateCommand__Output, run: RestoreRun): Promise<v1.ValidationReport> {
  const snap = cmd.snapshot;
  const started = tools.clock.now();
  const checks: v1.ValidationCheck[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'pbk-pgvalidate-'));
  try {
    if (snap?.labels.type === 'logical') await validateLogical(deps, tools, snap, scratch, checks, run);
    else await validateBase(deps, tools, snap!, scratch, checks, run);
  } catch (err) {
    checks.push({ name: 'restore', ok: false, detail: messageOf(err).slice(0, 1000) });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, durationMs: String(tools.clock.now() - started) };
}

async function validateBase(deps: RestoreDeps & { log: Logger }, tools: PitrTools, snap: v1.SnapshotInfo__Output, scratch: string, checks: v1.ValidationCheck[], run: RestoreRun): Promise<void> {
  const ids = await osUserIds(tools.osUser);
  await chown(scratch, ids.uid, ids.gid);
  await chmod(scratch, 0o700);
  const target = join(scratch, 'data');
  // Tablespaces go into the scratch space too: their original places may belong to the running source cluster.
  const tablespaces = join(scratch, 'tablespaces');
  await mkdir(tablespaces, { mode: 0o700 });
  await chown(tablespaces, ids.uid, ids.gid);
  const stopLsn = snap.labels.stop_lsn ?? '';
  const cmd = {
    snapshot: snap,
    path: '',
    targetDir: target,
    force: false,
    kindOptions: 'postgres' as const,
    // Recover exactly to where the base backup becomes consistent: the backup and its own WAL are what is checked.
    postgres: { targetDir: target, force: false, start: true, port: 0, exclusive: false, tablespaceMap: {}, tablespaceMapAll: tablespaces, ...(stopLsn ? { target: 'lsn' as const, lsn: stopLsn } : {}) },
  } as v1.RestoreCommand__Output;
  try {
    const summary = await runPitrRestore(deps, tools, cmd, run);
    const f = summary.facts ?? {};
    checks.push({ name: 'restore', ok: true, detail: `${summary.files} files, ${summary.bytes} bytes` });
    checks.push({ name: 'recovery', ok: f.promoted === 'true', detail: `promoted on timeline ${f.timeline ?? '?'} at ${f.restored_to_lsn ?? f.consistent_at_lsn ?? '?'} in ${f.promoted_ms ?? '?'} ms` });
    checks.push({ name: 'connections', ok: f.accepts_connections === 'true', detail: `${f.databases ?? '?'} databases` });
    checks.push({ name: 'pg_amcheck', ok: f.amcheck === 'ok', detail: f.amcheck ?? 'not run' });
  } finally {
    await stopServer(tools, target);
  }
}

async function validateLogical(deps: RestoreDeps & { log: Logger }, tools: PitrTools, snap: v1.SnapshotInfo__Output, scratch: string, checks: v1.ValidationCheck[], run: RestoreRun): Promise<void> {
  await runRestore(deps, { snapshot: snap, path: '', targetDir: scratch, force: true, kindOptions: undefined } as unknown as v1.RestoreCommand__Output, run);
  checks.push({ name: 'restore', ok: true, detail: 'dump files restored and checked against their ids' });
  const recorded = new Map((snap.labels.table_counts ?? '').split(',').filter(Boolean).map((p) => [p.slice(0, p.lastIndexOf(':')), p.slice(p.lastIndexOf(':') + 1)] as const));
  for (const db of (snap.labels.databases ?? '').split(',').filter(Boolean)) {
    const out: Buffer[] = [];
    const r = await runProgram(join(tools.binDir, 'pg_restore'), ['-l', join(scratch, 'logical', dumpDirName(db))], { env: process.env, onStdout: (b) => out.push(b) });
    const n = countTables(Buffer.concat(out).toString('utf8'));
    const want = recorded.get(db);
    const ok = r.code === 0 && (want === undefined || String(n) === want);
    checks.push({ name: `pg_restore -l ${db}`, ok, detail: r.code !== 0 ? r.stderr.trim().slice(-300) : `${n} tables with data (dump recorded ${want ?? 'nothing'})` });
  }
}

async function stopServer(tools: PitrTools, dataDir: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const child = spawnAs(tools.osUser, join(tools.binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { ...process.env });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}
