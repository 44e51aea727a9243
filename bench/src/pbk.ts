// Our engine, driven through the phase CLI (bench/src/pbk-phase.ts), one
// process per phase so each phase's time and peak RSS are its own:
//   node pbk-phase.js init    --repo DIR
//   node pbk-phase.js backup  --repo DIR --data DIR        -> {"snapshot":"<hex>","files":N,"bytes_in":N}
//   node pbk-phase.js restore --repo DIR --snapshot ID --to DIR
//   node pbk-phase.js verify  --repo DIR [--read-data PCT]  -> {"ok":true|false,...}
// The key-encryption key travels in PBK_BENCH_KEK (base64 of 32 random bytes).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BackupOutcome, Engine, RestoreOutcome, VerifyOutcome } from './engine.js';
import { lastJsonLine, mustSucceed, runMeasured, type Measured } from './measure.js';
import { onCpus } from './system.js';

export const PBK_PHASE_SCRIPT = fileURLToPath(new URL('./pbk-phase.js', import.meta.url));

export function hasPbkPhase(): boolean {
  return existsSync(PBK_PHASE_SCRIPT);
}

export class PbkEngine implements Engine {
  readonly name = 'pbk' as const;
  readonly version = 'workspace';
  private readonly kek = randomBytes(32).toString('base64');
  private readonly env: NodeJS.ProcessEnv;

  /**
   * readDataPct: share of data that verify reads and decrypts (100 = all, like restic check --read-data).
   * cpus: run every phase on these CPUs only (taskset's list).
   */
  constructor(readonly repoDir: string, private readonly readDataPct = 100, private readonly cpus?: string) {
    this.env = { ...process.env, PBK_BENCH_KEK: this.kek };
  }

  private run(args: string[]): Promise<Measured> {
    const [cmd, argv] = onCpus(this.cpus, process.execPath, [PBK_PHASE_SCRIPT, ...args]);
    return runMeasured(cmd, argv, { env: this.env, secrets: [this.kek] });
  }

  async init(): Promise<Measured> {
    return mustSucceed('pbk init', await this.run(['init', '--repo', this.repoDir]));
  }

  async backup(dataDir: string): Promise<BackupOutcome> {
    const m = mustSucceed('pbk backup', await this.run(['backup', '--repo', this.repoDir, '--data', dataDir]));
    const out = lastJsonLine(m.stdout);
    if (!out || typeof out['snapshot'] !== 'string') throw new Error(`pbk backup printed no snapshot: ${m.stdout.slice(-500)}`);
    return {
      measured: m,
      snapshot: out['snapshot'],
      output: out,
      ...(typeof out['files'] === 'number' ? { files: out['files'] } : {}),
      ...(typeof out['bytes_in'] === 'number' ? { bytesIn: out['bytes_in'] } : {}),
    };
  }

  async restore(snapshot: string, targetDir: string): Promise<RestoreOutcome> {
    const m = mustSucceed('pbk restore', await this.run(['restore', '--repo', this.repoDir, '--snapshot', snapshot, '--to', targetDir]));
    return { measured: m, root: targetDir };
  }

  async verify(): Promise<VerifyOutcome> {
    const m = await this.run(['verify', '--repo', this.repoDir, '--read-data', String(this.readDataPct)]);
    const out = lastJsonLine(m.stdout);
    return { measured: m, ok: m.exitCode === 0 && out?.['ok'] === true, detail: out ?? m.stderr.slice(-2000) };
  }

  extras(): Record<string, unknown> {
    return { verify_read_data_pct: this.readDataPct };
  }

  dispose(): void {}
}
