// What the benchmark needs from a backup engine: each phase is one child
// process, measured on its own (wall time, peak RSS).
import type { Measured } from './measure.js';

export interface BackupOutcome {
  measured: Measured;
  /** Snapshot id as the engine names it. */
  snapshot: string;
  /** What the engine says it read, when it says so. */
  files?: number;
  bytesIn?: number;
  /** The engine's own summary (pbk-phase's JSON line, restic's summary message). */
  output?: Record<string, unknown>;
}

export interface RestoreOutcome {
  measured: Measured;
  /** The directory whose contents should equal the backed-up data. */
  root: string;
}

export interface VerifyOutcome {
  measured: Measured;
  ok: boolean;
  detail?: unknown;
}

export interface Engine {
  readonly name: 'pbk' | 'restic';
  /** The repository directory (its total file size is repo_bytes). */
  readonly repoDir: string;
  /** Version string or other identification for the report. */
  readonly version: string;
  init(): Promise<Measured>;
  backup(dataDir: string): Promise<BackupOutcome>;
  /** Restores snapshot into targetDir (absent or empty). */
  restore(snapshot: string, targetDir: string): Promise<RestoreOutcome>;
  /** Verifies the repository, reading (by default) all data. */
  verify(): Promise<VerifyOutcome>;
  /** Extra figures for the report (cache size, ...). */
  extras(): Record<string, unknown>;
  /** Removes the engine's own temp files (never the repository). */
  dispose(): void;
}
