import type { v1 } from '@pbk/protocol';
import { describe, expect, it } from 'vitest';
import { ProgressBar, renderProgressLine } from '../src/progress.js';

const MiB = 1024 * 1024;

function progress(p: Partial<v1.Progress__Output>): v1.Progress__Output {
  return { phase: 'uploading', bytesDone: '0', bytesTotal: '0', itemsDone: '0', itemsTotal: '0', current: '', elapsedMs: '0', ...p };
}

describe('renderProgressLine', () => {
  it('shows bar, percent, bytes, rate and ETA when the total is known', () => {
    const line = renderProgressLine(progress({ bytesDone: String(25 * MiB), bytesTotal: String(100 * MiB), itemsDone: '3', itemsTotal: '12', current: '/etc/hosts' }), 5 * MiB, 200);
    expect(line).toBe('uploading   [######------------------]   25%  25.0 MiB / 100.0 MiB  5.0 MiB/s  ETA 15 s  3/12 items  /etc/hosts');
  });

  it('shows bytes and rate without a total, and ETA ? without a rate', () => {
    expect(renderProgressLine(progress({ phase: 'scanning', bytesDone: String(3 * MiB) }), 1024, 200)).toBe('scanning    3.0 MiB  1.0 KiB/s');
    expect(renderProgressLine(progress({ bytesDone: '0', bytesTotal: '100' }), 0, 200)).toMatch(/ETA \?$/);
  });

  it('never exceeds the terminal width', () => {
    const line = renderProgressLine(progress({ bytesDone: '1', bytesTotal: '2', current: 'x'.repeat(500) }), 1, 60);
    expect(line.length).toBe(59);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('ProgressBar', () => {
  it('redraws at most every 100 ms, in place, and clears itself when done', () => {
    let now = 0;
    const writes: string[] = [];
    const bar = new ProgressBar({ write: (t) => writes.push(t), now: () => now, columns: () => 120 });
    for (let i = 0; i <= 50; i++) {
      now = i * 10; // 51 updates over 500 ms
      bar.update(progress({ bytesDone: String(i * MiB), bytesTotal: String(100 * MiB) }));
    }
    expect(writes.length).toBe(6); // at 0, 100, 200, 300, 400, 500 ms
    for (const w of writes) expect(w).toMatch(/^\r.*\x1b\[K$/);
    bar.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });

  it('measures the rate over recent samples', () => {
    let now = 0;
    const writes: string[] = [];
    const bar = new ProgressBar({ write: (t) => writes.push(t), now: () => now, columns: () => 200, intervalMs: 0 });
    for (let s = 0; s <= 10; s++) {
      now = s * 1000;
      bar.update(progress({ bytesDone: String(s * 10 * MiB), bytesTotal: String(200 * MiB) }));
    }
    expect(writes.at(-1)).toContain('10.0 MiB/s');
    expect(writes.at(-1)).toContain('ETA 10 s');
  });

  it('writes nothing on done() when it never drew', () => {
    const writes: string[] = [];
    new ProgressBar({ write: (t) => writes.push(t), now: () => 0, columns: () => 80 }).done();
    expect(writes).toEqual([]);
  });
});
