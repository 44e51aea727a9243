/**
 * The progress bar of long jobs, drawn on stderr from the streamed `Progress`
 * messages: phase, bar, bytes done/total, rate, ETA, the current item. Redraws
 * at most every `intervalMs` (10 per second by default) so a chatty stream
 * never floods a slow terminal. Clock injected for tests.
 */
import type { v1 } from '@pbk/protocol';
import { formatBytes, formatDuration, formatRate } from './format.js';

export interface ProgressSink {
  update(progress: v1.Progress__Output): void;
  /** Removes the bar so the final result prints on a clean line. */
  done(): void;
}

/** For --json and non-terminals: progress is dropped, only the result prints. */
export const NO_PROGRESS: ProgressSink = { update: () => undefined, done: () => undefined };

export interface ProgressBarOptions {
  write: (text: string) => void;
  now: () => number;
  /** Terminal width; the line is cut to fit so it never wraps (a wrapped line cannot be redrawn with \r). */
  columns: () => number;
  intervalMs?: number;
  /** The rate is measured over this window, so a stall shows within seconds. */
  rateWindowMs?: number;
}

export class ProgressBar implements ProgressSink {
  private readonly options: Required<ProgressBarOptions>;
  private readonly samples: { at: number; bytes: number }[] = [];
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(options: ProgressBarOptions) {
    this.options = { intervalMs: 100, rateWindowMs: 5000, ...options };
  }

  update(progress: v1.Progress__Output): void {
    const now = this.options.now();
    const bytes = Number(progress.bytesDone);
    this.samples.push({ at: now, bytes });
    while (this.samples.length > 2 && (this.samples[0]?.at ?? now) < now - this.options.rateWindowMs) this.samples.shift();
    if (now - this.lastDraw < this.options.intervalMs) return;
    this.lastDraw = now;
    const line = renderProgressLine(progress, this.rate(progress), this.options.columns());
    // \r + erase-to-end-of-line: redraw in place without leaving the tail of a longer line.
    this.options.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.options.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Bytes per second over the recent window; the server's elapsed time until there are two samples. */
  private rate(progress: v1.Progress__Output): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first && last && last.at - first.at >= 500) return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
    const elapsed = Number(progress.elapsedMs);
    return elapsed > 0 ? (Number(progress.bytesDone) * 1000) / elapsed : 0;
  }
}

const BAR_WIDTH = 24;

/**
 * One line: `uploading  [#########---------------]  37%  1.2 GiB / 3.4 GiB  85.0 MiB/s  ETA 27 s  /var/lib/x`.
 * Without a known total: `scanning  1.2 GiB  85.0 MiB/s  1200 items  /var/lib/x`.
 */
export function renderProgressLine(progress: v1.Progress__Output, bytesPerSecond: number, columns: number): string {
  const done = Number(progress.bytesDone);
  const total = Number(progress.bytesTotal);
  const parts: string[] = [(progress.phase || 'working').padEnd(10)];
  if (total > 0) {
    const fraction = Math.min(1, Math.max(0, done / total));
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`, `${String(Math.floor(fraction * 100)).padStart(3)}%`, `${formatBytes(done)} / ${formatBytes(total)}`);
  } else {
    parts.push(formatBytes(done));
  }
  parts.push(formatRate(bytesPerSecond));
  if (total > 0) parts.push(bytesPerSecond > 0 ? `ETA ${formatDuration(((total - done) / bytesPerSecond) * 1000)}` : 'ETA ?');
  const items = Number(progress.itemsDone);
  const itemsTotal = Number(progress.itemsTotal);
  if (items > 0 || itemsTotal > 0) parts.push(itemsTotal > 0 ? `${items}/${itemsTotal} items` : `${items} items`);
  if (progress.current) parts.push(progress.current);
  const line = parts.join('  ');
  const width = Math.max(20, columns - 1);
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}
