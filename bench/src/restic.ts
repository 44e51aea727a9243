// restic, run the way its users run it, on the same data as pbk:
//   restic init --repository-version 2
//   restic backup --compression auto --json .        (cwd = the data dir, so
//       the snapshot's tree holds the data at its root, like ours)
//   restic restore <snapshot> --target DIR
//   restic check --read-data                         (reads every pack)
// The password lives in a 0600 file named by RESTIC_PASSWORD_FILE (never argv).
// restic keeps its metadata cache as usual, but in a fresh temp dir named by
// RESTIC_CACHE_DIR: the second backup and the restore may use what the first
// backup cached (as in real use), while nothing from an earlier run or from
// ~/.cache helps. The cache is not counted in repo_bytes (reported apart as
// cache_bytes). `check` uses its own temporary cache unless --with-cache.
// Inherited RESTIC_* variables are dropped so they cannot change the run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupOutcome, Engine, RestoreOutcome, VerifyOutcome } from './engine.js';
import { dirBytes } from './fs-util.js';
import { lastJsonLine, mustSucceed, runMeasured, type Measured } from './measure.js';

export interface ResticBinary {
  path: string;
  version: string;
}

/** Finds restic on PATH (or at RESTIC_BIN), or null when it is not installed. */
export function locateRestic(): ResticBinary | null {
  const path = process.env['RESTIC_BIN'] || 'restic';
  const r = spawnSync(path, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const m = /restic\s+(\S+)/.exec(r.stdout);
  return { path, version: m ? m[1]! : r.stdout.trim() };
}

export class ResticEngine implements Engine {
  readonly name = 'restic' as const;
  readonly version: string;
  private readonly secretDir: string;
  private readonly cacheDir: string;
  private readonly password: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly bin: ResticBinary, readonly repoDir: string) {
    this.version = bin.version;
    this.secretDir = mkdtempSync(join(tmpdir(), 'pbk-bench-restic-'));
    this.cacheDir = join(this.secretDir, 'cache');
    mkdirSync(this.cacheDir, { mode: 0o700 });
    this.password = randomBytes(24).toString('base64url');
    const passwordFile = join(this.secretDir, 'password');
    writeFileSync(passwordFile, this.password, { mode: 0o600 });
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RESTIC_')) env[k] = v;
    env['RESTIC_PASSWORD_FILE'] = passwordFile;
    env['RESTIC_CACHE_DIR'] = this.cacheDir;
    this.env = env;
  }

  private run(args: string[], cwd?: string): Promise<Measured> {
    return runMeasured(this.bin.path, ['-r', this.repoDir, ...args], {
      env: this.env, secrets: [this.password], ...(cwd ? { cwd } : {}),
    });
  }

  async init(): Promise<Measured> {
    return mustSucceed('restic init', await this.run(['init', '--repository-version', '2']));
  }

  async backup(dataDir: string): Promise<BackupOutcome> {
    const m = await this.run(['backup', '--compression', 'auto', '--json', '.'], dataDir);
    // exit code 3: snapshot written but some files could not be read; a benchmark must not accept that
    mustSucceed('restic backup', m);
    const summary = lastJsonLine(m.stdout);
    if (!summary || summary['message_type'] !== 'summary' || typeof summary['snapshot_id'] !== 'string') {
      throw new Error(`restic backup printed no summary: ${m.stdout.slice(-500)}`);
    }
    return {
      measured: m,
      snapshot: summary['snapshot_id'],
      files: Number(summary['total_files_processed']),
      bytesIn: Number(summary['total_bytes_processed']),
      output: summary,
    };
  }

  async restore(snapshot: string, targetDir: string): Promise<RestoreOutcome> {
    const m = mustSucceed('restic restore', await this.run(['restore', snapshot, '--target', targetDir]));
    return { measured: m, root: targetDir };
  }

  async verify(): Promise<VerifyOutcome> {
    const m = await this.run(['check', '--read-data']);
    return { measured: m, ok: m.exitCode === 0, detail: m.exitCode === 0 ? undefined : m.stderr.slice(-2000) };
  }

  extras(): Record<string, unknown> {
    return { version: this.version, cache_bytes: dirBytes(this.cacheDir) };
  }

  dispose(): void {
    rmSync(this.secretDir, { recursive: true, force: true });
  }
}
