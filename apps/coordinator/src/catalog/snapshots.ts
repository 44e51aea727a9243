/**
 * The catalog's copy of committed snapshots (table `snapshots`).
 *
 * This is a CACHE of the repository, never the record: the repository's
 * encrypted snapshot objects are the truth, and `rebuild-catalog` refills this
 * table from them alone (DESIGN decision 4). So a row is written only after
 * its snapshot object is durable in the repository, a row may be dropped at
 * any time without losing a backup, and nothing here may hold a fact the
 * repository lacks. Rows are keyed by the snapshot object's id, so writing
 * one twice is harmless.
 *
 * Times are kept to the millisecond (what JavaScript dates hold), so page
 * tokens and round trips are exact.
 */
import type { SnapshotSummary, SnapshotWithId, SourceKind, SourceRef } from '@pbk/storage';
import type { SqlDb } from './db.js';
import { CatalogError } from './errors.js';
import { assertHex64, assertHost, assertSource, assertSourceKind, assertText, iso, jsonParam, toDate, toNumber } from './values.js';

export interface SnapshotFilter {
  host?: string;
  kind?: SourceKind;
  name?: string;
  /** Inclusive. */
  since?: Date;
  /** Inclusive. */
  until?: Date;
}

export interface SnapshotListOptions extends SnapshotFilter {
  /** Page size, 1..1000; default 100. */
  limit?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

export interface SnapshotPage {
  /** Newest first. */
  snapshots: SnapshotWithId[];
  /** Present when more snapshots follow. */
  nextPageToken?: string;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

interface SnapshotRow {
  id: string;
  host: string;
  kind: SourceKind;
  name: string;
  time: unknown;
  tree: string;
  dek_id: string;
  parent: string | null;
  paths: string[] | null;
  summary: SnapshotSummary;
  meta: Record<string, unknown> | null;
  tags: string[];
}

function toSnapshot(r: SnapshotRow): SnapshotWithId {
  const s: SnapshotWithId = {
    id: r.id,
    version: 1,
    time: toDate(r.time).toISOString(),
    source: { host: r.host, kind: r.kind, name: r.name },
    tags: r.tags,
    tree: r.tree,
    dekId: r.dek_id,
    summary: r.summary,
  };
  if (r.parent !== null) s.parent = r.parent;
  if (r.paths !== null) s.paths = r.paths;
  if (r.meta !== null) s.meta = r.meta;
  return s;
}

/** Keyset position: the (time, id) of the last row of a page. */
interface PagePosition {
  t: string;
  id: string;
}

function encodePageToken(p: PagePosition): string {
  return Buffer.from(JSON.stringify(p), 'utf8').toString('base64url');
}

function decodePageToken(token: string): PagePosition {
  try {
    const p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PagePosition>;
    if (typeof p.t === 'string' && !Number.isNaN(Date.parse(p.t)) && typeof p.id === 'string' && /^[0-9a-f]{64}$/.test(p.id)) {
      return { t: p.t, id: p.id };
    }
  } catch {
    // reported below
  }
  throw new CatalogError('INVALID_ARGUMENT', 'invalid page token: pass back the nextPageToken of the previous page unchanged');
}

/** WHERE clause and parameters for a filter; parameters are numbered from 1. */
function whereOf(filter: SnapshotFilter, params: unknown[]): string[] {
  const conditions: string[] = [];
  if (filter.host !== undefined) {
    params.push(filter.host);
    conditions.push(`host = $${params.length}`);
  }
  if (filter.kind !== undefined) {
    assertSourceKind(filter.kind);
    params.push(filter.kind);
    conditions.push(`kind = $${params.length}`);
  }
  if (filter.name !== undefined) {
    params.push(filter.name);
    conditions.push(`name = $${params.length}`);
  }
  if (filter.since !== undefined) {
    params.push(iso(filter.since));
    conditions.push(`time >= $${params.length}::timestamptz`);
  }
  if (filter.until !== undefined) {
    params.push(iso(filter.until));
    conditions.push(`time <= $${params.length}::timestamptz`);
  }
  return conditions;
}

export class SnapshotCatalog {
  constructor(private readonly db: SqlDb) {}

  /** Records a snapshot already durable in the repository; false when it was recorded before. */
  async put(snapshot: SnapshotWithId): Promise<boolean> {
    assertHex64('snapshot id', snapshot.id);
    assertSource(snapshot.source);
    assertHex64('root tree id', snapshot.tree);
    assertText('DEK id', snapshot.dekId, 128);
    if (snapshot.parent !== undefined) assertHex64('parent snapshot id', snapshot.parent);
    const time = new Date(snapshot.time);
    if (Number.isNaN(time.getTime())) throw new CatalogError('INVALID_ARGUMENT', `snapshot ${snapshot.id} has an invalid time ${JSON.stringify(snapshot.time)}`);
    const rows = await this.db.query(
      `INSERT INTO snapshots (id, host, kind, name, time, tree, dek_id, parent, paths, summary, meta, tags)
       VALUES ($1, $2, $3, $4, date_trunc('milliseconds', $5::timestamptz), $6, $7, $8, $9::text[], $10::jsonb, $11::jsonb, $12::text[])
       ON CONFLICT (id) DO NOTHING RETURNING 1`,
      [
        snapshot.id,
        snapshot.source.host,
        snapshot.source.kind,
        snapshot.source.name,
        iso(time),
        snapshot.tree,
        snapshot.dekId,
        snapshot.parent ?? null,
        snapshot.paths ?? null,
        jsonParam('snapshot summary', snapshot.summary),
        snapshot.meta === undefined ? null : jsonParam('snapshot meta', snapshot.meta),
        snapshot.tags ?? [],
      ],
    );
    return rows.length > 0;
  }

  /** Snapshots matching the filter, newest first, one page at a time. */
  async list(options: SnapshotListOptions = {}): Promise<SnapshotPage> {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new CatalogError('INVALID_ARGUMENT', `page size ${limit} is out of range: give 1 to ${MAX_PAGE_SIZE}`);
    }
    const params: unknown[] = [];
    const conditions = whereOf(options, params);
    if (options.pageToken !== undefined && options.pageToken !== '') {
      const after = decodePageToken(options.pageToken);
      params.push(after.t, after.id);
      conditions.push(`(time, id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`);
    }
    params.push(limit + 1); // one more than asked tells whether another page follows
    const rows = await this.db.query<SnapshotRow>(
      `SELECT * FROM snapshots ${conditions.length ? 'WHERE ' + conditions.join(' AND ') : ''}
       ORDER BY time DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const snapshots = rows.slice(0, limit).map(toSnapshot);
    const last = snapshots[snapshots.length - 1];
    const page: SnapshotPage = { snapshots };
    if (rows.length > limit && last !== undefined) page.nextPageToken = encodePageToken({ t: last.time, id: last.id });
    return page;
  }

  async get(id: string): Promise<SnapshotWithId | undefined> {
    const [row] = await this.db.query<SnapshotRow>('SELECT * FROM snapshots WHERE id = $1', [id]);
    return row === undefined ? undefined : toSnapshot(row);
  }

  /** The source's newest snapshot taken at or before `time` (what a point-in-time restore starts from). */
  async findAtOrBefore(source: SourceRef, time: Date): Promise<SnapshotWithId | undefined> {
    assertHost(source.host);
    assertSourceKind(source.kind);
    const [row] = await this.db.query<SnapshotRow>(
      `SELECT * FROM snapshots WHERE host = $1 AND kind = $2 AND name = $3 AND time <= $4::timestamptz
       ORDER BY time DESC, id DESC LIMIT 1`,
      [source.host, source.kind, source.name, iso(time)],
    );
    return row === undefined ? undefined : toSnapshot(row);
  }

  /** The newest snapshot of every source, by host, kind and name (Status, RPO metrics). */
  async latestPerSource(): Promise<SnapshotWithId[]> {
    const rows = await this.db.query<SnapshotRow>(
      `SELECT DISTINCT ON (host, kind, name) * FROM snapshots ORDER BY host, kind, name, time DESC, id DESC`,
    );
    return rows.map(toSnapshot);
  }

  /** Forgets a snapshot (after it was removed from the repository); false when it was not here. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM snapshots WHERE id = $1 RETURNING 1', [id]);
    return rows.length > 0;
  }

  async count(filter: SnapshotFilter = {}): Promise<number> {
    const params: unknown[] = [];
    const conditions = whereOf(filter, params);
    const [row] = await this.db.query<{ n: unknown }>(
      `SELECT count(*) AS n FROM snapshots ${conditions.length ? 'WHERE ' + conditions.join(' AND ') : ''}`,
      params,
    );
    return toNumber(row?.n ?? 0);
  }
}
