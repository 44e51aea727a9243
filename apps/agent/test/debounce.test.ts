import { describe, expect, it } from 'vitest';
import { mergeModes, type BackupModeName } from '../src/files/backup.js';
import { ChangeDebouncer, type ChangeBurst } from '../src/schedule/debounce.js';
import { RunQueue, type RunBatch } from '../src/schedule/run-queue.js';
import { FakeClock, flushPromises } from './helpers.js';

describe('ChangeDebouncer', () => {
  const setup = (debounceMs = 500, maxDelayMs = 10_000) => {
    const clock = new FakeClock();
    const bursts: ChangeBurst[] = [];
    const d = new ChangeDebouncer({ debounceMs, maxDelayMs }, clock, (b) => bursts.push(b));
    return { clock, bursts, d };
  };

  it('fires once, debounceMs after the last change of a burst, with the changes coalesced', () => {
    const { clock, bursts, d } = setup();
    d.change('/etc/a');
    clock.advance(300);
    d.change('/etc/b');
    clock.advance(300);
    d.change('/etc/a');
    clock.advance(499);
    expect(bursts).toHaveLength(0);
    clock.advance(1);
    expect(bursts).toHaveLength(1);
    expect(bursts[0]).toMatchObject({ changes: 3, paths: 2, sample: ['/etc/a', '/etc/b'] });
    expect(bursts[0]!.lastAt - bursts[0]!.firstAt).toBe(600);
    expect(d.pending).toBe(false);
  });

  it('fires at maxDelayMs under changes that never pause, then starts a new burst', () => {
    const { clock, bursts, d } = setup(500, 2000);
    for (let i = 0; i < 30; i++) {
      d.change(`/var/log/x${i % 3}`);
      clock.advance(100);
    }
    // 3000 ms of changes every 100 ms: the 2000 ms cap fired once; the rest is a new burst.
    expect(bursts).toHaveLength(1);
    expect(bursts[0]!.changes).toBe(20);
    clock.advance(500);
    expect(bursts).toHaveLength(2);
    expect(bursts[1]!.changes).toBe(10);
  });

  it('drops pending changes on stop and ignores later ones', () => {
    const { clock, bursts, d } = setup();
    d.change('/a');
    d.stop();
    d.change('/b');
    clock.advance(60_000);
    expect(bursts).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('RunQueue: one run per source, changes during a run schedule one more', () => {
  type Gate = { batch: RunBatch<BackupModeName, string>; finish(v?: string): void; fail(e: unknown): void };
  const setup = () => {
    const runs: Gate[] = [];
    const q = new RunQueue<BackupModeName, string, string>(
      (batch) =>
        new Promise<string>((resolve, reject) => {
          runs.push({ batch, finish: (v) => resolve(v ?? `run${runs.length}`), fail: reject });
        }),
      mergeModes,
    );
    return { q, runs };
  };

  it('coalesces every request during a run into exactly one more run, with merged mode and all commands', async () => {
    const { q, runs } = setup();
    const first = q.request('BACKUP_MODE_INCREMENTAL', { reason: 'watch' });
    await flushPromises();
    expect(runs).toHaveLength(1);
    expect(q.running).toBe(true);

    const a = q.request('BACKUP_MODE_INCREMENTAL', { reason: 'watch' });
    const b = q.request('BACKUP_MODE_FULL', { reason: 'schedule' });
    const c = q.request('BACKUP_MODE_INCREMENTAL', { reason: 'command', commandId: Buffer.from('c1') });
    await flushPromises();
    expect(runs).toHaveLength(1); // still one at a time
    expect(q.queued).toBe(true);

    runs[0]!.finish('s1');
    expect(await first.result).toBe('s1');
    await flushPromises();
    expect(runs).toHaveLength(2);
    expect(runs[1]!.batch.mode).toBe('BACKUP_MODE_FULL');
    expect(runs[1]!.batch.reasons).toEqual(['watch', 'schedule', 'command']);
    expect(runs[1]!.batch.commandIds.map((x) => x.toString())).toEqual(['c1']);
    runs[1]!.finish('s2');
    expect(await Promise.all([a.result, b.result, c.result])).toEqual(['s2', 's2', 's2']);
    await q.idle();
    expect(runs).toHaveLength(2);
  });

  it('a failed run fails its waiters only; the pending run still starts', async () => {
    const { q, runs } = setup();
    const first = q.request('BACKUP_MODE_INCREMENTAL');
    await flushPromises();
    const second = q.request('BACKUP_MODE_INCREMENTAL');
    runs[0]!.fail(new Error('disk on fire'));
    await expect(first.result).rejects.toThrow('disk on fire');
    await flushPromises();
    runs[1]!.finish('ok');
    expect(await second.result).toBe('ok');
  });

  it('fans progress out to every waiter of the run', async () => {
    const { q, runs } = setup();
    const seen: string[] = [];
    q.request('BACKUP_MODE_INCREMENTAL', { onProgress: (p) => seen.push(`a:${p}`) });
    await flushPromises();
    runs[0]!.batch.progress('10%');
    expect(seen).toEqual(['a:10%']);
  });

  it('cancel takes a request out of the pending run, or aborts the running one', async () => {
    const { q, runs } = setup();
    const first = q.request('BACKUP_MODE_INCREMENTAL');
    await flushPromises();
    const pending = q.request('BACKUP_MODE_FULL');
    pending.cancel('operator changed their mind');
    await expect(pending.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(q.queued).toBe(false);
    first.cancel('stop it');
    expect(runs[0]!.batch.signal.aborted).toBe(true);
    runs[0]!.fail(runs[0]!.batch.signal.reason);
    await expect(first.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await q.idle();
    expect(runs).toHaveLength(1);
  });

  it('stop refuses new requests, drops the pending run and aborts the current one', async () => {
    const { q, runs } = setup();
    const first = q.request('BACKUP_MODE_INCREMENTAL');
    await flushPromises();
    const pending = q.request('BACKUP_MODE_INCREMENTAL');
    q.stop();
    await expect(pending.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(runs[0]!.batch.signal.aborted).toBe(true);
    runs[0]!.fail(new Error('aborted'));
    await expect(first.result).rejects.toThrow();
    await expect(q.request('BACKUP_MODE_FULL').result).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('merges modes: full > unspecified (coordinator decides) > incremental', () => {
    expect(mergeModes('BACKUP_MODE_INCREMENTAL', 'BACKUP_MODE_FULL')).toBe('BACKUP_MODE_FULL');
    expect(mergeModes('BACKUP_MODE_UNSPECIFIED', 'BACKUP_MODE_INCREMENTAL')).toBe('BACKUP_MODE_UNSPECIFIED');
    expect(mergeModes('BACKUP_MODE_FULL', 'BACKUP_MODE_UNSPECIFIED')).toBe('BACKUP_MODE_FULL');
  });
});
