/**
 * One-time, expiring enrollment tokens (table `enrollment_tokens`, DESIGN
 * decision 16). The secret is 32 random bytes, base64url; it is returned once
 * by `issue` and only its SHA-256 is stored. `consume` is one conditional
 * UPDATE, so of two agents presenting the same token exactly one wins, on
 * either engine.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlDb } from './db.js';
import { CatalogError, EnrollmentTokenError } from './errors.js';
import { assertHost, iso, toDate, toOptionalDate } from './values.js';

/** Longest accepted lifetime: a token that lives for months is a standing password. */
export const MAX_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;

export interface IssuedToken {
  /** The secret: show it once, store it nowhere. */
  token: string;
  host: string;
  issuedAt: Date;
  expiresAt: Date;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class EnrollmentTokens {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => Date,
  ) {}

  /** Issues a token that enrolls `host` once, within `ttlMs`. */
  async issue(host: string, ttlMs: number): Promise<IssuedToken> {
    assertHost(host);
    if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TOKEN_TTL_MS) {
      throw new CatalogError('INVALID_ARGUMENT', `token lifetime ${ttlMs} ms is out of range: give a whole number of milliseconds from 1 to ${MAX_TOKEN_TTL_MS} (30 days)`);
    }
    const token = randomBytes(32).toString('base64url');
    const issuedAt = this.now();
    const expiresAt = new Date(issuedAt.getTime() + ttlMs);
    await this.db.query(
      'INSERT INTO enrollment_tokens (token_hash, host, issued_at, expires_at) VALUES ($1, $2, $3::timestamptz, $4::timestamptz)',
      [hashToken(token), host, iso(issuedAt), iso(expiresAt)],
    );
    return { token, host, issuedAt, expiresAt };
  }

  /**
   * Marks the token used and returns the host it was issued for. With `host`,
   * the token must have been issued for that host. Fails with
   * EnrollmentTokenError (UNAUTHENTICATED) saying why: 'already used',
   * 'expired', 'unknown', 'revoked' or 'wrong host'; a refused token stays as it was.
   */
  async consume(token: string, host?: string): Promise<string> {
    if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw new EnrollmentTokenError('unknown');
    const hash = hashToken(token);
    const at = iso(this.now());
    const [won] = await this.db.query<{ host: string }>(
      `UPDATE enrollment_tokens SET used_at = $2::timestamptz
       WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2::timestamptz
         AND ($3::text IS NULL OR host = $3::text)
       RETURNING host`,
      [hash, at, host ?? null],
    );
    if (won !== undefined) return won.host;
    // Lost: read the row only to say why (the UPDATE above is what decided).
    const [row] = await this.db.query<{ host: string; expires_at: unknown; used_at: unknown; revoked_at: unknown }>(
      'SELECT host, expires_at, used_at, revoked_at FROM enrollment_tokens WHERE token_hash = $1',
      [hash],
    );
    if (row === undefined) throw new EnrollmentTokenError('unknown');
    if (toOptionalDate(row.used_at) !== undefined) throw new EnrollmentTokenError('already used');
    if (toOptionalDate(row.revoked_at) !== undefined) throw new EnrollmentTokenError('revoked');
    if (toDate(row.expires_at).getTime() <= Date.parse(at)) throw new EnrollmentTokenError('expired');
    if (host !== undefined && row.host !== host) throw new EnrollmentTokenError('wrong host');
    // Every condition held on re-read: only a concurrent change between the two statements gets here.
    throw new EnrollmentTokenError('already used');
  }

  /**
   * Records the use of a signed token (docs/agent-coordinator.md: `pbk1.` tokens
   * are verified by signature and expiry, not looked up) by its SHA-256, hex:
   * one INSERT ... ON CONFLICT DO NOTHING, so of two enrollments with the same
   * token exactly one wins, on either engine. The loser gets
   * EnrollmentTokenError 'already used' ('revoked' when an operator revoked it).
   */
  async redeemSigned(tokenSha256: string, host: string, expiresAt: Date): Promise<void> {
    assertHost(host);
    if (!/^[0-9a-f]{64}$/.test(tokenSha256)) throw new CatalogError('INVALID_ARGUMENT', 'a token hash is 64 lower-case hex digits (SHA-256)');
    const at = iso(this.now());
    if (expiresAt.getTime() <= Date.parse(at)) throw new EnrollmentTokenError('expired');
    const rows = await this.db.query(
      `INSERT INTO enrollment_tokens (token_hash, host, issued_at, expires_at, used_at)
       VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $3::timestamptz)
       ON CONFLICT (token_hash) DO NOTHING RETURNING 1`,
      [tokenSha256, host, at, iso(expiresAt)],
    );
    if (rows.length > 0) return;
    const [row] = await this.db.query<{ revoked_at: unknown }>('SELECT revoked_at FROM enrollment_tokens WHERE token_hash = $1', [tokenSha256]);
    if (row !== undefined && toOptionalDate(row.revoked_at) !== undefined) throw new EnrollmentTokenError('revoked');
    throw new EnrollmentTokenError('already used');
  }

  /** Revokes every unused token of `host`; returns how many. */
  async revoke(host: string): Promise<number> {
    assertHost(host);
    const rows = await this.db.query(
      'UPDATE enrollment_tokens SET revoked_at = $2::timestamptz WHERE host = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING 1',
      [host, iso(this.now())],
    );
    return rows.length;
  }
}
