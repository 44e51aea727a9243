/**
 * Facts a base backup carries about itself, read from the members
 * pg_basebackup streams: `backup_label` (start LSN, its WAL file, start
 * timeline, checkpoint) and `backup_manifest` (WAL-Ranges: the WAL the backup
 * needs, start to end LSN, per timeline). They become snapshot labels, so the
 * coordinator can pick the right base backup for a recovery target without
 * reading the backup itself.
 */
import { AgentError } from '../errors.js';

export interface BackupLabel {
  startLsn: string;
  startWalFile: string;
  checkpointLsn: string | undefined;
  startTimeline: number;
  label: string | undefined;
}

/** Parses backup_label ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)", "START TIMELINE: 1", ...). */
export function parseBackupLabel(text: string): BackupLabel {
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/m.exec(text);
  const tli = /^START TIMELINE: (\d+)$/m.exec(text);
  if (!start || !tli) throw new AgentError('CORRUPT', 'backup_label lacks START WAL LOCATION or START TIMELINE: not a PostgreSQL base backup label');
  return {
    startLsn: start[1]!,
    startWalFile: start[2]!,
    checkpointLsn: /^CHECKPOINT LOCATION: ([0-9A-F]+\/[0-9A-F]+)$/m.exec(text)?.[1],
    startTimeline: Number(tli[1]),
    label: /^LABEL: (.*)$/m.exec(text)?.[1],
  };
}

export interface WalRange {
  timeline: number;
  startLsn: string;
  endLsn: string;
}

/** The WAL-Ranges of a backup_manifest (JSON): the last one ends where the backup is consistent. */
export function parseManifestWalRanges(text: string): WalRange[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AgentError('CORRUPT', `backup_manifest is not JSON: ${(err as Error).message}`);
  }
  const ranges = (doc as { 'WAL-Ranges'?: unknown })['WAL-Ranges'];
  if (!Array.isArray(ranges) || ranges.length === 0) throw new AgentError('CORRUPT', 'backup_manifest has no WAL-Ranges');
  return ranges.map((r: Record<string, unknown>) => ({ timeline: Number(r.Timeline), startLsn: String(r['Start-LSN']), endLsn: String(r['End-LSN']) }));
}

/** An LSN ("16/B374D848") as a bigint, for comparisons. */
export function lsnToBigInt(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(lsn)} is not an LSN (like 0/3000148)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}
