/** What each command file declares (one command per file): its name, flags and `run`. */
import type { FlagSpec, FlagValues } from '../args.js';
import type { Clock } from '../clock.js';

export interface CommandIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin as text (for `--token -`). */
  readStdin(): Promise<string>;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  onStopSignal(handler: (signal: string) => void): void;
  readonly clock: Clock;
}

export interface AgentCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Plain (non-flag) arguments, in order, all required; their values land in the flags under these names. */
  readonly positionals?: readonly string[];
  /**
   * Exit status for a usage error (bad or missing flags) instead of the usual 2:
   * wal-fetch needs one above 125, or PostgreSQL would take a misconfigured
   * restore_command as "end of the archive" and promote early.
   */
  readonly usageExitCode?: number;
  /** Returns the process exit code (0 on success); throws typed errors that main.ts maps. */
  run(io: CommandIo, flags: FlagValues): Promise<number>;
}
