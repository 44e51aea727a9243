/**
 * WAL positions and file names as PostgreSQL writes them: an LSN is a 64-bit
 * byte position ("16/B374D848" = high/low 32-bit hex halves); a segment file
 * is TTTTTTTT + XXXXXXXX + YYYYYYYY (timeline, then the segment number split
 * at 4 GiB), so with 16 MiB segments YYYYYYYY runs 00..FF. Pure functions.
 */
import { AgentError } from '../../errors.js';

export type Lsn = bigint;

const LSN_RE = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const SEGMENT_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const HISTORY_RE = /^[0-9A-F]{8}\.history$/;
const FOUR_GIB = 0x1_0000_0000n;

export function parseLsn(text: string): Lsn {
  const m = LSN_RE.exec(text.trim());
  if (!m) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(text)} is not a PostgreSQL LSN (like 0/16B3748)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function isSegmentName(name: string): boolean {
  return SEGMENT_RE.test(name);
}

export function isHistoryName(name: string): boolean {
  return HISTORY_RE.test(name);
}

export { isArchiveName } from './archive-name.js';

/** The first byte position of a segment file, given the cluster's segment size. */
export function segmentStart(name: string, segSize: number): Lsn {
  const m = SEGMENT_RE.exec(name);
  if (!m) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(name)} is not a WAL segment name`);
  const perXlogId = FOUR_GIB / BigInt(segSize);
  const segNo = BigInt(`0x${m[2]}`) * perXlogId + BigInt(`0x${m[3]}`);
  return segNo * BigInt(segSize);
}

/** The segment file holding byte `lsn` on `timeline`. */
export function segmentName(timeline: number, lsn: Lsn, segSize: number): string {
  const segNo = lsn / BigInt(segSize);
  const perXlogId = FOUR_GIB / BigInt(segSize);
  const hex = (n: bigint | number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segNo / perXlogId)}${hex(segNo % perXlogId)}`;
}

export function timelineOf(name: string): number {
  return Number.parseInt(name.slice(0, 8), 16);
}
