// The daemons' heap flag travels in their shebang; the benchmarks start them
// with it, and node accepts it (docs/agent-coordinator.md, "Node.js heap").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_MAIN, COORDINATOR_MAIN, shebangNodeFlags } from '../src/system.js';

describe('shebangNodeFlags', () => {
  it('reads the flags of `#!/usr/bin/env -S node FLAGS` and nothing from other first lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbk-shebang-'));
    try {
      const script = (first: string): string => {
        const p = join(dir, `s${Math.random()}.js`);
        writeFileSync(p, `${first}\nconsole.log(1);\n`);
        return p;
      };
      expect(shebangNodeFlags(script('#!/usr/bin/env -S node --a=1  --b'))).toEqual(['--a=1', '--b']);
      expect(shebangNodeFlags(script('#!/usr/bin/env node'))).toEqual([]);
      expect(shebangNodeFlags(script('// no shebang'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['pbk-coordinator', COORDINATOR_MAIN],
    ['pbk-agent', AGENT_MAIN],
  ])('%s starts with the heap flag, and node accepts it', (_name, main) => {
    const flags = shebangNodeFlags(main);
    expect(flags).toContain('--initial-old-space-size=128');
    const r = spawnSync(process.execPath, [...flags, main, '--help'], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/bad option|unknown/i);
    expect(r.status).toBe(0);
  });
});
