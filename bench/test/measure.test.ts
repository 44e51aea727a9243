import { describe, expect, it } from 'vitest';
import { hasGnuTime, lastJsonLine, runMeasured, type RssMethod } from '../src/measure.js';

const MiB = 1024 * 1024;
// allocate and touch ~160 MiB, hold it briefly, print a JSON line
const script = `const b = Buffer.alloc(160 * 1024 * 1024, 1); setTimeout(() => { console.log('noise'); console.log(JSON.stringify({ ok: b.length > 0, secret: process.env.SECRET_X === 'hunter2' })); }, 100);`;

const methods: RssMethod[] = hasGnuTime() ? ['gnu-time', 'proc-poll'] : ['proc-poll'];

describe('runMeasured', () => {
  for (const method of methods) {
    it(`measures wall time, peak RSS (${method}) and stdout`, async () => {
      const m = await runMeasured(process.execPath, ['-e', script], { rssMethod: method, env: { ...process.env, SECRET_X: 'hunter2' } });
      expect(m.exitCode).toBe(0);
      expect(m.rssMethod).toBe(method);
      expect(m.wallSeconds).toBeGreaterThan(0.1);
      expect(m.peakRssBytes).toBeGreaterThan(160 * MiB);
      expect(m.peakRssBytes).toBeLessThan(1024 * MiB);
      expect(lastJsonLine(m.stdout)).toEqual({ ok: true, secret: true });
    });
  }

  it('reports a failing command without throwing', async () => {
    const m = await runMeasured(process.execPath, ['-e', 'console.error("boom"); process.exit(3)']);
    expect(m.exitCode).toBe(3);
    expect(m.stderr).toContain('boom');
  });

  it('refuses a secret on the command line', async () => {
    await expect(runMeasured(process.execPath, ['-e', '0', '--password=hunter2'], { secrets: ['hunter2'] })).rejects.toThrow(/secret/);
  });
});
