/**
 * The append-only, hash-chained audit log (table `audit_log`, DESIGN decision 16):
 * every key access, restore, deletion, enrollment and token issued.
 *
 * Chain: each row stores the previous row's hash, and
 *   hash = hex(SHA-256( utf8(prev_hash) || utf8(canonical JSON of the row without `hash`) ))
 * where the canonical JSON has keys sorted at every level and holds
 *   { action, actor, at (ISO 8601, ms, UTC), details, prev_hash, seq, target }.
 * The first row's prev_hash is 64 zeros. Anyone with a SQL dump can re-check it.
 *
 * Appends are serialized by a transaction-scoped advisory lock, so the chain
 * never forks (prev_hash is also UNIQUE, so a fork could not even be stored).
 * There is no update or delete here, and database triggers refuse them; an
 * edit made anyway (triggers disabled) breaks the chain at that row, which
 * `verifyChain` reports. A chain cannot show rows cut off its END: compare
 * `head()` with a copy kept elsewhere to catch that.
 */
import { createHash } from 'node:crypto';
import type { SqlDb } from './db.js';
import { CatalogError } from './errors.js';
import { assertText, iso, jsonParam, toDate, toNumber } from './values.js';

export const AUDIT_ACTIONS = [
  'key.create',
  'key.unwrap',
  'key.rotate',
  'key.destroy',
  'key.escrow',
  'restore',
  // A restore test of a snapshot (pbk validate): reads the data like a restore does.
  'validate',
  'snapshot.delete',
  'enroll',
  'agent.revoke',
  'token.issue',
  'token.revoke',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  /** Who: a certificate subject ("admin", "agent:web-1"), or "coordinator" for its own work. */
  actor: string;
  action: AuditAction;
  /** What it was done to: a key id, snapshot id, host... */
  target: string;
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: Date;
  actor: string;
  action: AuditAction;
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Rows checked (all of them when ok). */
  entries: number;
  /** The first row whose prev_hash or hash does not match. */
  firstBadSeq?: number;
}

/** Advisory lock key serializing appends ("pbk" + 2). */
const AUDIT_LOCK_KEY = 0x70626b02;
/** Rows read per query while verifying: bounded memory on a long log. */
const VERIFY_BATCH = 1000;

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function auditHash(row: Omit<AuditRecord, 'hash'>): string {
  const body = canonicalJson({
    action: row.action,
    actor: row.actor,
    at: row.at.toISOString(),
    details: row.details,
    prev_hash: row.prevHash,
    seq: row.seq,
    target: row.target,
  });
  return createHash('sha256').update(row.prevHash, 'utf8').update(body, 'utf8').digest('hex');
}

interface AuditRow {
  seq: unknown;
  at: unknown;
  actor: string;
  action: AuditAction;
  target: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    seq: toNumber(r.seq),
    at: toDate(r.at),
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export class AuditLog {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => Date,
  ) {}

  /** Appends one entry at the end of the chain and returns it as stored. */
  async append(entry: AuditEntry): Promise<AuditRecord> {
    assertText('audit actor', entry.actor, 256);
    assertText('audit target', entry.target, 1024);
    if (!(AUDIT_ACTIONS as readonly string[]).includes(entry.action)) {
      throw new CatalogError('INVALID_ARGUMENT', `unknown audit action ${JSON.stringify(entry.action)}: expected one of ${AUDIT_ACTIONS.join(', ')}`);
    }
    // Hash what the database will give back: JSON drops undefined, turns Dates into strings.
    const detailsText = jsonParam('audit details', entry.details ?? {});
    const details = JSON.parse(detailsText) as unknown;
    if (details === null || typeof details !== 'object' || Array.isArray(details)) {
      throw new CatalogError('INVALID_ARGUMENT', 'audit details must be a JSON object');
    }
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`);
      const [last] = await tx.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      const [next] = await tx.query<{ seq: unknown }>(`SELECT nextval(pg_get_serial_sequence('audit_log', 'seq')) AS seq`);
      const row: Omit<AuditRecord, 'hash'> = {
        seq: toNumber(next!.seq),
        // Stored to the millisecond, so the hash input survives the round trip exactly.
        at: new Date(iso(this.now())),
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        details: details as Record<string, unknown>,
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const hash = auditHash(row);
      await tx.query(
        `INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash)
         VALUES ($1, $2::timestamptz, $3, $4, $5, $6::jsonb, $7, $8)`,
        [row.seq, iso(row.at), row.actor, row.action, row.target, detailsText, row.prevHash, hash],
      );
      return { ...row, hash };
    });
  }

  /** Entries after `afterSeq` (default: from the start), oldest first. */
  async list(options: { afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > VERIFY_BATCH) {
      throw new CatalogError('INVALID_ARGUMENT', `limit ${limit} is out of range: give 1 to ${VERIFY_BATCH}`);
    }
    const rows = await this.db.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [options.afterSeq ?? 0, limit]);
    return rows.map(toRecord);
  }

  /** The newest entry's seq and hash (publish it elsewhere to detect a truncated tail). */
  async head(): Promise<{ seq: number; hash: string } | undefined> {
    const [row] = await this.db.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return row === undefined ? undefined : { seq: toNumber(row.seq), hash: row.hash };
  }

  /** Re-computes every hash and link, oldest first; stops at the first row that does not match. */
  async verifyChain(): Promise<ChainVerification> {
    let prevHash = GENESIS_HASH;
    let afterSeq = 0;
    let entries = 0;
    for (;;) {
      const rows = await this.db.query<AuditRow>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, VERIFY_BATCH]);
      for (const raw of rows) {
        const r = toRecord(raw);
        entries++;
        const { hash, ...rest } = r;
        if (r.prevHash !== prevHash || auditHash(rest) !== hash) return { ok: false, entries, firstBadSeq: r.seq };
        prevHash = hash;
        afterSeq = r.seq;
      }
      if (rows.length < VERIFY_BATCH) return { ok: true, entries };
    }
  }
}
