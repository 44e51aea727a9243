/**
 * WAL files of PostgreSQL sources (table `wal_files`): for each file name of a
 * source, the data blobs whose plaintexts, concatenated, are its bytes
 * [0, size), whether it is complete, and the SHA-256 of those bytes. A growing
 * segment's row is rewritten as it grows; a complete one never changes.
 * Complete files are also in the repository as WAL manifests (services/wal.ts
 * writes one before PutWal answers; maintenance.ts backfills any missing), so
 * this table is a fast lookup, never the only record of a complete file.
 *
 * The rules of what may replace what (docs/postgres.md, "WAL streaming") live
 * in services/wal.ts; this module stores and lists.
 */
import type { SqlDb } from './db.js';
import { CatalogError } from './errors.js';
import { assertHost, assertText, iso, toDate, toNumber } from './values.js';

export interface WalFileRecord {
  host: string;
  sourceName: string;
  fileName: string;
  timeline: number;
  size: number;
  complete: boolean;
  /** Data blob ids, hex, in file order. */
  content: string[];
  /** SHA-256 of bytes [0, size), hex. */
  sha256: string;
  /** DEKs of the content blobs (hex, distinct): kept alive by GC while the file is. */
  dekIds: string[];
  /** The WAL run that recorded it last. */
  runId: string;
  updatedAt: Date;
}

/** A segment (24 hex), a timeline history file, a backup history file, or a segment archived at promotion (`.partial`). */
const WAL_NAME_RE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

export function isWalFileName(name: string): boolean {
  return typeof name === 'string' && WAL_NAME_RE.test(name);
}

/** The timeline a WAL file name belongs to (its first 8 hex digits). */
export function walTimeline(name: string): number {
  return Number.parseInt(name.slice(0, 8), 16);
}

interface WalRow {
  host: string;
  source_name: string;
  file_name: string;
  timeline: unknown;
  size: unknown;
  complete: boolean;
  content: string[];
  sha256: string;
  dek_ids: string[];
  run_id: string;
  updated_at: unknown;
}

function toRecord(r: WalRow): WalFileRecord {
  return {
    host: r.host,
    sourceName: r.source_name,
    fileName: r.file_name,
    timeline: toNumber(r.timeline),
    size: toNumber(r.size),
    complete: r.complete,
    content: r.content,
    sha256: r.sha256,
    dekIds: r.dek_ids,
    runId: r.run_id,
    updatedAt: toDate(r.updated_at),
  };
}

export const DEFAULT_WAL_PAGE = 1000;
export const MAX_WAL_PAGE = 10_000;

export class WalCatalog {
  constructor(private readonly db: SqlDb) {}

  async get(host: string, sourceName: string, fileName: string): Promise<WalFileRecord | undefined> {
    const [row] = await this.db.query<WalRow>('SELECT * FROM wal_files WHERE host = $1 AND source_name = $2 AND file_name = $3', [host, sourceName, fileName]);
    return row === undefined ? undefined : toRecord(row);
  }

  /** Inserts or replaces the row of (host, source, file). The caller has checked the replacement is allowed. */
  async put(rec: Omit<WalFileRecord, 'timeline' | 'updatedAt'>, now: Date): Promise<WalFileRecord> {
    assertHost(rec.host);
    assertText('source name', rec.sourceName, 256);
    if (!isWalFileName(rec.fileName)) throw new CatalogError('INVALID_ARGUMENT', `${JSON.stringify(rec.fileName)} is not a WAL file name`);
    const [row] = await this.db.query<WalRow>(
      `INSERT INTO wal_files (host, source_name, file_name, timeline, size, complete, content, sha256, dek_ids, run_id, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz)
       ON CONFLICT (host, source_name, file_name) DO UPDATE SET
         timeline = EXCLUDED.timeline, size = EXCLUDED.size, complete = EXCLUDED.complete, content = EXCLUDED.content,
         sha256 = EXCLUDED.sha256, dek_ids = EXCLUDED.dek_ids, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [rec.host, rec.sourceName, rec.fileName, walTimeline(rec.fileName), rec.size, rec.complete, rec.content, rec.sha256, rec.dekIds, rec.runId, iso(now)],
    );
    return toRecord(row!);
  }

  /** Every (host, source) with WAL files. */
  async sources(): Promise<{ host: string; sourceName: string }[]> {
    const rows = await this.db.query<{ host: string; source_name: string }>('SELECT DISTINCT host, source_name FROM wal_files ORDER BY host, source_name');
    return rows.map((r) => ({ host: r.host, sourceName: r.source_name }));
  }

  /** Files of a source with names >= `from`, in name order (PostgreSQL's order: timeline, then position). */
  async list(host: string, sourceName: string, from: string, limit: number): Promise<WalFileRecord[]> {
    const n = Math.min(Math.max(1, limit || DEFAULT_WAL_PAGE), MAX_WAL_PAGE);
    const rows = await this.db.query<WalRow>(
      `SELECT * FROM wal_files WHERE host = $1 AND source_name = $2 AND file_name COLLATE "C" >= $3 ORDER BY file_name COLLATE "C" LIMIT $4`,
      [host, sourceName, from, n],
    );
    return rows.map(toRecord);
  }
}
