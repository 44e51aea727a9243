/**
 * End to end, real processes: `pbk-coordinator init` + `serve` (ports 0),
 * `pbk-coordinator token` piped into `pbk-agent enroll --token -`, then a real
 * `pbk-agent run` watching a directory. Files are edited, snapshots checked
 * through the coordinator's OperatorService (admin credentials), and two
 * points in time restored by the agent and compared byte for byte and
 * metadata for metadata. The coordinator is killed (SIGKILL) and restarted on
 * the same port: the agent reconnects and the next change still becomes a
 * snapshot. Finally SIGTERM stops the agent cleanly.
 *
 * Needs apps/coordinator/dist and apps/agent/dist: `npm test` builds every
 * package first; a missing build fails the test rather than skipping it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceError } from '@grpc/grpc-js';
import { channelCredentials, clientChannelOptions, loadProtocol, type v1 } from '@pbk/protocol';
import { COORDINATOR, AGENT, runProc, startProc, type Proc } from './procs.js';

const ready = existsSync(COORDINATOR) && existsSync(AGENT);

const start = startProc;
const run = runProc;

type Entry = { type: string; mode: number; size: number; sha?: string; mtimeMs: number; target?: string };

/** Everything a restore must reproduce: type, mode, size, content hash, mtime (ms), link target. */
async function manifest(root: string, rel = ''): Promise<Record<string, Entry>> {
  const out: Record<string, Entry> = {};
  for (const name of (await readdir(join(root, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, r));
    const e: Entry = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file', mode: st.mode & 0o7777, size: st.isFile() ? st.size : 0, mtimeMs: Math.floor(st.mtimeMs) };
    if (st.isFile()) e.sha = createHash('sha256').update(await readFile(join(root, r))).digest('hex');
    if (st.isSymbolicLink()) e.target = await readlink(join(root, r));
    if (st.isSymbolicLink()) e.mtimeMs = 0; // lutimes support varies; the target is what matters
    out[r] = e;
    if (st.isDirectory()) Object.assign(out, await manifest(root, r));
  }
  return out;
}

describe('e2e: pbk-coordinator + pbk-agent', () => {
  it('has both apps built', () => {
    expect(ready, `build first: npm run build (${COORDINATOR}, ${AGENT})`).toBe(true);
  });

  let base: string;
  let coord: Proc | undefined;
  let agent: Proc | undefined;
  let grpcAddr = '';
  let enrollAddr = '';
  let operator: v1.OperatorServiceClient;
  const data = () => join(base, 'coord');
  const src = () => join(base, 'src');

  const startCoordinator = async (listen = '127.0.0.1:0', enroll = '127.0.0.1:0'): Promise<void> => {
    coord = start(COORDINATOR, ['serve', '--data', data(), '--listen', listen, '--enroll-listen', enroll, '--http', '127.0.0.1:0']);
    const line = await coord.waitFor((l) => l.includes('"event":"ready"'));
    const r = JSON.parse(line) as { grpc: string; enroll: string };
    grpcAddr = r.grpc;
    enrollAddr = r.enroll;
  };

  const snapshots = (): Promise<v1.SnapshotInfo__Output[]> =>
    new Promise((resolve, reject) => {
      operator.listSnapshots({ host: 'web-1', source: 'app' }, { deadline: new Date(Date.now() + 10_000) }, (err: ServiceError | null, res?: v1.ListSnapshotsResponse__Output) => {
        if (err) reject(err);
        else resolve([...(res?.snapshots ?? [])].sort((a, b) => Number(a.timeUnixMs) - Number(b.timeUnixMs)));
      });
    });

  const waitForSnapshots = async (n: number, ms = 30_000): Promise<v1.SnapshotInfo__Output[]> => {
    const end = Date.now() + ms;
    for (;;) {
      const list = await snapshots().catch(() => []);
      if (list.length >= n) return list;
      if (Date.now() > end) throw new Error(`expected ${n} snapshots, have ${list.length}; agent log:\n${agent?.lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  /** The snapshot list once no new snapshot has appeared for 2 s (the watcher's runs are done). */
  const settled = async (): Promise<v1.SnapshotInfo__Output[]> => {
    let list = await snapshots();
    for (let quiet = 0; quiet < 2000; quiet += 250) {
      await new Promise((r) => setTimeout(r, 250));
      const next = await snapshots();
      if (next.length !== list.length) quiet = -250;
      list = next;
    }
    return list;
  };

  /** Restores through the operator API; retries while the agent's Control stream is not (yet) connected. */
  const restore = async (snapshotId: Buffer, targetDir: string): Promise<v1.RestoreDone__Output> => {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        return await restoreOnce(snapshotId, targetDir);
      } catch (err) {
        if ((err as { code?: number }).code !== 14 || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const restoreOnce = (snapshotId: Buffer, targetDir: string): Promise<v1.RestoreDone__Output> =>
    new Promise((resolve, reject) => {
      const call = operator.restore({ source: { host: 'web-1', name: 'app', kind: 'SOURCE_KIND_FILES' }, snapshotId, files: { targetDir } }, { deadline: new Date(Date.now() + 60_000) });
      let done: v1.RestoreDone__Output | undefined;
      call.on('data', (u: v1.RestoreUpdate__Output) => {
        if (u.done) done = u.done;
      });
      call.on('error', reject);
      call.on('end', () => (done ? resolve(done) : reject(new Error('restore ended without done'))));
    });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'pbk-e2e-'));
    const init = await run(COORDINATOR, ['init', '--data', data()]);
    expect(init.code, init.out).toBe(0);
    await startCoordinator();
    const { OperatorService } = loadProtocol();
    const creds = channelCredentials({
      caPem: await readFile(join(data(), 'admin/ca.pem'), 'utf8'),
      certPem: await readFile(join(data(), 'admin/client.pem'), 'utf8'),
      keyPem: await readFile(join(data(), 'admin/client.key'), 'utf8'),
    });
    operator = new OperatorService(grpcAddr, creds, clientChannelOptions()) as unknown as v1.OperatorServiceClient;

    // The source tree: config files, a symlink, an empty dir, a sibling that is not configured.
    await mkdir(join(src(), 'etc/app/conf.d'), { recursive: true });
    await mkdir(join(src(), 'etc/app/empty'), { recursive: true });
    await mkdir(join(src(), 'etc/other'), { recursive: true });
    await writeFile(join(src(), 'etc/app/app.conf'), 'listen = 8080\n');
    await writeFile(join(src(), 'etc/app/conf.d/db.conf'), 'host = db-1\n');
    await writeFile(join(src(), 'etc/app/secret.key'), 'k'.repeat(100));
    await chmod(join(src(), 'etc/app/secret.key'), 0o600);
    await writeFile(join(src(), 'etc/app/big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    await symlink('app.conf', join(src(), 'etc/app/current.conf'));
    await writeFile(join(src(), 'etc/other/not-mine'), 'x');
    await utimes(join(src(), 'etc/app/app.conf'), 1_700_000_000, 1_700_000_000);
  });

  afterAll(async () => {
    operator?.close();
    for (const p of [agent, coord]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await rm(base, { recursive: true, force: true });
  });

  it('enrolls with a token on stdin and writes the state dir (key 0600)', async () => {
    const token = await run(COORDINATOR, ['token', '--data', data(), '--host', 'web-1']);
    expect(token.code, token.out).toBe(0);
    const enrolled = await run(AGENT, ['enroll', '--coordinator', grpcAddr, '--token', '-', '--state', join(base, 'state')], token.out.trim());
    expect(enrolled.code, enrolled.out).toBe(0);
    expect(JSON.parse(enrolled.out.split('\n').find((l) => l.startsWith('{"enrolled"'))!)).toMatchObject({ enrolled: 'web-1', coordinator: grpcAddr });
    expect((await lstat(join(base, 'state/agent.key'))).mode & 0o777).toBe(0o600);
    // The same token again is refused by the coordinator (one-time), and the state dir by us without --force.
    const again = await run(AGENT, ['enroll', '--coordinator', grpcAddr, '--token', '-', '--state', join(base, 'state2')], token.out.trim());
    expect(again.code).toBe(4);
  });

  let first: v1.SnapshotInfo__Output;
  let firstManifest: Record<string, Entry>;

  it('runs the daemon: a snapshot at start, another after an edit, only the configured paths', async () => {
    await writeFile(
      join(base, 'agent.yaml'),
      `state: state
logLevel: debug
sources:
  - name: app
    kind: files
    paths: [${join(src(), 'etc/app')}]
    exclude: ['*.tmp']
    watch: true
    debounceMs: 200
`,
    );
    agent = start(AGENT, ['run', '--config', join(base, 'agent.yaml')]);
    first = (await waitForSnapshots(1))[0]!;
    firstManifest = await manifest(join(src(), 'etc/app'));
    expect(first.labels.trigger).toBe('start');
    expect(first.paths).toEqual([join(src(), 'etc/app')]);
    expect(Number(first.stats?.files)).toBe(4); // regular files; the symlink and dirs are counted apart

    // chmod first: a metadata-only change may raise no watcher event of its own, the writes after it do.
    await chmod(join(src(), 'etc/app/app.conf'), 0o640);
    await writeFile(join(src(), 'etc/app/conf.d/db.conf'), 'host = db-2\n');
    await writeFile(join(src(), 'etc/app/new.conf'), 'added\n');
    await writeFile(join(src(), 'etc/app/scratch.tmp'), 'ignored');
    await waitForSnapshots(2);
    const list = await settled();
    const second = list[list.length - 1]!;
    expect(second.labels.trigger).toContain('watch');
    expect(list[1]!.parentId.equals(first.id)).toBe(true);
    // Incremental: the 3 MiB file was not read again.
    expect(Number(second.labels.bytes_read)).toBeLessThan(1024);
  });

  it('restores both points in time byte for byte and metadata for metadata', async () => {
    const list = await snapshots();
    const now = await manifest(join(src(), 'etc/app'));
    const r1 = join(base, 'restore-1');
    const r2 = join(base, 'restore-2');
    const done1 = await restore(list[0]!.id, r1);
    expect(Number(done1.files)).toBeGreaterThan(0);
    await restore(list[list.length - 1]!.id, r2);
    const inside = join(src(), 'etc/app').replace(/^\//, '');
    expect(await manifest(join(r1, inside))).toEqual(firstManifest);
    const restoredNow = await manifest(join(r2, inside));
    delete now['scratch.tmp'];
    expect(restoredNow).toEqual(now);
    expect(Object.keys(restoredNow)).not.toContain('scratch.tmp');
    // The sibling that was not configured is not in the snapshot, but its parent is.
    expect(await readdir(join(r2, join(src(), 'etc').replace(/^\//, '')))).toEqual(['app']);
  });

  it('survives the coordinator being killed and restarted: reconnects, and the next change is a snapshot', async () => {
    const before = (await snapshots()).length;
    coord!.child.kill('SIGKILL');
    await coord!.exited;
    await writeFile(join(src(), 'etc/app/during-outage.conf'), 'written while the coordinator was down\n');
    await new Promise((r) => setTimeout(r, 1500));
    const [, grpcPort] = grpcAddr.split(':');
    const [, enrollPort] = enrollAddr.split(':');
    await startCoordinator(`127.0.0.1:${grpcPort}`, `127.0.0.1:${enrollPort}`);
    const list = await waitForSnapshots(before + 1, 60_000);
    const last = list[list.length - 1]!;
    const r3 = join(base, 'restore-3');
    await restore(last.id, r3);
    const inside = join(src(), 'etc/app').replace(/^\//, '');
    expect(await readFile(join(r3, inside, 'during-outage.conf'), 'utf8')).toBe('written while the coordinator was down\n');
  });

  it('stops cleanly on SIGTERM', async () => {
    agent!.child.kill('SIGTERM');
    expect(await agent!.exited).toBe(0);
    expect(agent!.lines.some((l) => l.includes('"agent stopped"'))).toBe(true);
  });
});
