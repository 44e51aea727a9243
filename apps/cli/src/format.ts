/**
 * Human output: sizes in IEC units, times in UTC ISO plus "3 min ago",
 * durations, aligned tables. Pure: callers pass `now`.
 */

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** 0 B, 512 B, 1.5 KiB, 12.3 MiB, 1.2 GiB. Accepts the decimal strings int64 fields decode to. */
export function formatBytes(bytes: number | string): string {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${Math.round(n)} B`;
  let value = n;
  let unit = 'B';
  for (const u of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  // 1023.96 KiB would print as "1024.0 KiB": step up instead.
  if (value >= 1023.95 && unit !== 'EiB') return `1.0 ${UNITS[UNITS.indexOf(unit as (typeof UNITS)[number]) + 1]}`;
  return `${value.toFixed(1)} ${unit}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "850 ms", "42 s", "3 min 05 s", "2 h 03 min", "3 d 4 h"; a zero remainder is left out ("1 h", "2 d"). */
export function formatDuration(ms: number | string): string {
  const n = Math.max(0, Number(ms));
  if (!Number.isFinite(n)) return '?';
  if (n < 1000) return `${Math.round(n)} ms`;
  const s = Math.floor(n / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${pad2(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${pad2(m % 60)} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** "just now", "42 s ago", "3 min ago", "5 h ago", "12 days ago"; "in 3 min" for the future. */
export function formatAgo(atMs: number | string, now: number): string {
  const at = Number(atMs);
  const delta = now - at;
  const abs = Math.abs(delta);
  if (abs < 1000) return 'just now';
  let text: string;
  if (abs < 60_000) text = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < 48 * 3_600_000) text = `${Math.floor(abs / 3_600_000)} h`;
  else text = `${Math.floor(abs / 86_400_000)} days`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** 2024-05-01T10:00:00Z: UTC, to the second (what `--at` accepts back). "-" for 0, which the wire uses for unset. */
export function formatTime(atMs: number | string): string {
  const at = Number(atMs);
  if (!Number.isFinite(at) || at <= 0) return '-';
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "2024-05-01T10:00:00Z (3 min ago)", or "-" when unset. */
export function formatTimeAgo(atMs: number | string, now: number): string {
  const at = Number(atMs);
  return at > 0 ? `${formatTime(at)} (${formatAgo(at, now)})` : '-';
}

export interface Column {
  header: string;
  /** Numbers and sizes read better right-aligned. */
  align?: 'left' | 'right';
}

/** Columns padded to their widest cell, two spaces apart; the last left-aligned column is not padded. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(width) : i === columns.length - 1 ? cell : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

/** Lower-case hex of an id; ids are raw bytes on the wire. */
export function hex(id: Buffer | Uint8Array | undefined | null): string {
  return id === undefined || id === null ? '' : Buffer.from(id).toString('hex');
}

/** The first 8 hex digits, as tables show ids (`--snapshot` accepts them back). */
export function shortId(id: Buffer | Uint8Array | undefined | null): string {
  return hex(id).slice(0, 8) || '-';
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
