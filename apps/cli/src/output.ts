/**
 * Where output goes. With --json: exactly one JSON document on stdout per
 * command (errors as one on stderr), nothing else. Without: human text on
 * stdout, notes and the progress bar on stderr (the bar only on a terminal).
 */
import { NO_PROGRESS, ProgressBar, type ProgressSink } from './progress.js';

/** The process as main.ts hands it over; tests pass their own. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress bars only when a person watches stdout. */
  stdoutIsTTY: boolean;
  columns(): number;
  env: Readonly<Record<string, string | undefined>>;
  now(): number;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

export class Output {
  private printed = false;
  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {}

  /** The command's one result: `doc` under --json, `human()` otherwise. */
  result(doc: unknown, human: () => string): void {
    if (this.printed) throw new Error('a command printed two results');
    this.printed = true;
    this.io.stdout(this.json ? `${JSON.stringify(doc, null, 2)}\n` : human());
  }

  /** A side remark for a person (hints, truncation); never part of --json output. */
  note(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }

  progress(): ProgressSink {
    if (this.json || !this.io.stdoutIsTTY) return NO_PROGRESS;
    return new ProgressBar({ write: (t) => this.io.stderr(t), now: () => this.io.now(), columns: () => this.io.columns() });
  }
}
