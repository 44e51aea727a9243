/**
 * Real processes for the PostgreSQL end-to-end tests: a `pbk-coordinator`
 * (init + serve on port 0), an enrolled `pbk-agent run` with a given config,
 * and an OperatorService client with the admin's mutual-TLS credentials.
 * Everything started here is stopped by `stop()` (call it in afterAll).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';
import { pgAvailable, runAsPg, type PgCluster } from '@pbk/testkit';
import { expect, it } from 'vitest';

export const built = (): boolean => existsSync(COORDINATOR) && existsSync(AGENT) && existsSync(CLI);

/** The first test of a PostgreSQL suite: says plainly what is missing instead of failing in beforeAll. */
export function itHasThePgPrograms(): void {
  it('has the programs it needs (built dist/, PostgreSQL 15)', () => {
    expect(built(), 'build first: npx nx run-many -t build').toBe(true);
    expect(pgAvailable(), 'PostgreSQL 15 server programs in /usr/lib/postgresql/15/bin').toBe(true);
  });
}

import { AGENT, CLI, COORDINATOR, runProc, startProc, type Proc } from './procs.js';
export { AGENT, CLI, COORDINATOR, runProc, startProc, type Proc };

/** One postgres source of an agent config (YAML list item), scheduled runs off; `extra` lines are added as they are. */
export function postgresSourceYaml(name: string, port: number, extra: string[] = []): string {
  return [`  - name: ${name}`, '    kind: postgres', '    host: 127.0.0.1', `    port: ${port}`, '    user: postgres', '    osUser: postgres', '    baseSchedule: null', '    logicalSchedule: null', ...extra.map((l) => `    ${l}`)].join('\n') + '\n';
}

export class PbkSystem {
  base = '';
  coord: Proc | undefined;
  agent: Proc | undefined;
  grpcAddr = '';
  operator!: v1.OperatorServiceClient;
  readonly host = 'db-1';

  get data(): string {
    return join(this.base, 'coord');
  }
  get state(): string {
    return join(this.base, 'state');
  }

  async start(): Promise<void> {
    this.base = await mkdtemp(join(tmpdir(), 'pbk-pg-e2e-'));
    const init = await runProc(COORDINATOR, ['init', '--data', this.data]);
    if (init.code !== 0) throw new Error(`coordinator init failed: ${init.out}`);
    this.coord = startProc(COORDINATOR, ['serve', '--data', this.data, '--listen', '127.0.0.1:0', '--enroll-listen', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    const line = await this.coord.waitFor((l) => l.includes('"event":"ready"'));
    this.grpcAddr = (JSON.parse(line) as { grpc: string }).grpc;
    const { OperatorService } = loadProtocol();
    const creds = channelCredentials({
      caPem: await readFile(join(this.data, 'admin/ca.pem'), 'utf8'),
      certPem: await readFile(join(this.data, 'admin/client.pem'), 'utf8'),
      keyPem: await readFile(join(this.data, 'admin/client.key'), 'utf8'),
    });
    this.operator = new OperatorService(this.grpcAddr, creds, clientChannelOptions()) as unknown as v1.OperatorServiceClient;
    const token = await runProc(COORDINATOR, ['token', '--data', this.data, '--host', this.host]);
    if (token.code !== 0) throw new Error(`token failed: ${token.out}`);
    const enrolled = await runProc(AGENT, ['enroll', '--coordinator', this.grpcAddr, '--token', '-', '--state', this.state], token.stdout.trim());
    if (enrolled.code !== 0) throw new Error(`enroll failed: ${enrolled.out}`);
  }

  /** Writes the agent config (YAML body after `state:`) and starts `pbk-agent run`, waiting until it runs. */
  async startAgent(sourcesYaml: string, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
    const file = join(this.base, 'agent.yaml');
    await writeFile(file, `state: ${this.state}\nlogLevel: debug\n${sourcesYaml}`);
    this.agent = startProc(AGENT, ['run', '--config', file], undefined, env);
    await this.agent.waitFor((l) => l.includes('agent running'), 60_000);
    return this.agent;
  }

  async stopAgent(): Promise<void> {
    const a = this.agent;
    if (!a || a.child.exitCode !== null) return;
    a.child.kill('SIGTERM');
    const t = setTimeout(() => a.child.kill('SIGKILL'), 20_000);
    await a.exited;
    clearTimeout(t);
  }

  /** Runs the built `pbk` CLI as admin. */
  cli(args: string[]): Promise<{ code: number | null; out: string; stdout: string }> {
    return runProc(CLI, [...args, '--coordinator', this.grpcAddr, '--credentials', join(this.data, 'admin')]);
  }

  snapshots(source: string): Promise<v1.SnapshotInfo__Output[]> {
    return new Promise((resolve, reject) => {
      this.operator.listSnapshots({ host: this.host, source }, { deadline: new Date(Date.now() + 10_000) }, (err: ServiceError | null, res?: v1.ListSnapshotsResponse__Output) => {
        if (err) reject(err);
        else resolve([...(res?.snapshots ?? [])].sort((a, b) => Number(a.timeUnixMs) - Number(b.timeUnixMs)));
      });
    });
  }

  status(): Promise<v1.StatusResponse__Output> {
    return new Promise((resolve, reject) => {
      this.operator.status({}, { deadline: new Date(Date.now() + 10_000) }, (err: ServiceError | null, res?: v1.StatusResponse__Output) => (err ? reject(err) : resolve(res!)));
    });
  }

  verify(): Promise<v1.VerifyReport__Output> {
    return new Promise((resolve, reject) => {
      const call = this.operator.verify({ readDataPercent: 100 }, { deadline: new Date(Date.now() + 120_000) });
      let report: v1.VerifyReport__Output | undefined;
      call.on('data', (u: v1.VerifyUpdate__Output) => {
        if (u.report) report = u.report;
      });
      call.on('error', reject);
      call.on('end', () => (report ? resolve(report) : reject(new Error('verify ended without a report'))));
    });
  }

  /** StartBackup with wait; retries while the agent's Control stream is not connected yet. */
  async backup(source: string, variant = ''): Promise<v1.SnapshotInfo__Output> {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        return await this.backupOnce(source, variant);
      } catch (err) {
        if ((err as { code?: number }).code !== 14 || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private backupOnce(source: string, variant: string): Promise<v1.SnapshotInfo__Output> {
    return new Promise((resolve, reject) => {
      const call = this.operator.startBackup({ source: { host: this.host, name: source }, mode: 'BACKUP_MODE_FULL', wait: true, variant }, { deadline: new Date(Date.now() + 180_000) });
      let snap: v1.SnapshotInfo__Output | undefined;
      call.on('data', (u: v1.StartBackupUpdate__Output) => {
        if (u.snapshot) snap = u.snapshot;
      });
      call.on('error', reject);
      call.on('end', () => (snap ? resolve(snap) : reject(new Error('backup ended without a snapshot'))));
    });
  }

  /**
   * Starts a backup of `source`, stops `cluster` (immediate) `afterMs` into its
   * base backup and starts it again; resolves with the error the backup failed
   * with (rejects if it did not fail).
   */
  async backupWithServerStopped(source: string, cluster: PgCluster, afterMs: number): Promise<unknown> {
    const before = this.agent!.lines.length;
    const running = this.backup(source);
    running.catch(() => undefined);
    await this.agent!.waitFor((l) => l.includes('base backup started') && l.includes(source) && this.agent!.lines.indexOf(l) >= before, 30_000);
    await new Promise((r) => setTimeout(r, afterMs));
    await runAsPg('pg_ctl', ['-D', cluster.dataDir, '-m', 'immediate', '-w', 'stop']);
    try {
      await running;
    } catch (err) {
      return err;
    } finally {
      await cluster.start();
    }
    throw new Error(`the backup of ${source} succeeded although its server stopped mid-way`);
  }

  restore(req: v1.RestoreRequest, ms = 180_000): Promise<v1.RestoreDone__Output> {
    return new Promise((resolve, reject) => {
      const call = this.operator.restore(req, { deadline: new Date(Date.now() + ms) });
      let done: v1.RestoreDone__Output | undefined;
      call.on('data', (u: v1.RestoreUpdate__Output) => {
        if (u.done) done = u.done;
      });
      call.on('error', reject);
      call.on('end', () => (done ? resolve(done) : reject(new Error('restore ended without done'))));
    });
  }

  /** A restore test (Validate) of one snapshot, to its report. */
  validate(snapshotId: Buffer, source: string): Promise<v1.ValidateDone__Output> {
    return new Promise((resolve, reject) => {
      const call = this.operator.validate({ source: { host: this.host, name: source, kind: 'SOURCE_KIND_POSTGRES' }, snapshotId }, { deadline: new Date(Date.now() + 120_000) });
      let done: v1.ValidateDone__Output | undefined;
      call.on('data', (u: v1.ValidateUpdate__Output) => {
        if (u.done) done = u.done;
      });
      call.on('error', reject);
      call.on('end', () => (done ? resolve(done) : reject(new Error('validate ended without a report'))));
    });
  }

  async stop(): Promise<void> {
    this.operator?.close();
    await this.stopAgent().catch(() => undefined);
    for (const p of [this.agent, this.coord]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    if (this.base) await rm(this.base, { recursive: true, force: true });
  }
}
