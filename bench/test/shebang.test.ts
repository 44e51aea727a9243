// How the benchmarks start the daemons: with the heap flag of their shebang,
// which node accepts (docs/agent-coordinator.md, "Node.js heap"), and on the
// CPUs --split-cores gives them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_MAIN, COORDINATOR_MAIN, onCpus, shebangNodeFlags } from '../src/system.js';

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

describe('onCpus', () => {
  it('runs a command on the CPUs given, and leaves it alone without them', () => {
    const allowed = (cpus: string | undefined): string => {
      const [cmd, args] = onCpus(cpus, process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\\s*(\\S+)/)[1])"]);
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      expect(r.status).toBe(0);
      return r.stdout;
    };
    expect(allowed('0')).toBe('0');
    expect(allowed(undefined)).toBe(readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)![1]);
  });
});
