/**
 * Enrollment tokens (docs/agent-coordinator.md, "Enrollment token"):
 *
 *   pbk1.<base64url(JSON payload)>.<base64url(HMAC-SHA-256(token.key, "pbk1." + payload part))>
 *   payload = { h: host, e: expiry unix ms, n: 16 random bytes base64url,
 *               f: CA SHA-256 fingerprint, p: enrollment port, i: issued unix ms }
 *
 * Signed, not stored: `token` needs no catalog (it works while `serve` holds
 * the embedded one). One-time use is enforced at Enroll by recording
 * SHA-256(token) in the catalog. Pure functions with an injected clock.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { CoordinatorError } from './errors.js';

export const TOKEN_PREFIX = 'pbk1';

export interface TokenPayload {
  /** Host the token enrolls. */
  h: string;
  /** Expiry, unix ms. */
  e: number;
  /** Nonce: 16 random bytes, base64url (two tokens for one host differ). */
  n: string;
  /** SHA-256 fingerprint (hex) of the coordinator's CA certificate, for pinning. */
  f: string;
  /** Enrollment listener port. */
  p: number;
  /** Issue time, unix ms: `token --revoke` refuses every token of a host issued until then. */
  i?: number;
}

/** Longest lifetime `token --ttl` accepts: a token that lives for weeks is a standing password. */
export const MAX_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

export function signToken(key: Buffer, input: { host: string; ttlMs: number; caFingerprint: string; enrollPort: number; now: () => Date }): string {
  if (!HOST_RE.test(input.host)) {
    throw new CoordinatorError('INVALID_ARGUMENT', `host ${JSON.stringify(input.host)} is not a valid host name (letters, digits, '.', '-', '_')`);
  }
  if (!Number.isInteger(input.ttlMs) || input.ttlMs <= 0 || input.ttlMs > MAX_TOKEN_TTL_MS) {
    throw new CoordinatorError('INVALID_ARGUMENT', `token lifetime must be between 1 s and 30 days`);
  }
  const payload: TokenPayload = {
    h: input.host,
    e: input.now().getTime() + input.ttlMs,
    n: randomBytes(16).toString('base64url'),
    f: input.caFingerprint,
    p: input.enrollPort,
    i: input.now().getTime(),
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${TOKEN_PREFIX}.${body}.${mac(key, body).toString('base64url')}`;
}

/**
 * Checks the signature, then the expiry, and returns the payload. Every
 * refusal is UNAUTHENTICATED with a reason and a remedy, never the token.
 */
export function verifyToken(key: Buffer, token: string, now: () => Date): TokenPayload {
  const remedy = "ask an operator for a new one ('pbk-coordinator token --host NAME')";
  const parts = typeof token === 'string' ? token.trim().split('.') : [];
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || !/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[A-Za-z0-9_-]{43}$/.test(parts[2]!)) {
    throw new CoordinatorError('UNAUTHENTICATED', `enrollment token is malformed (expected pbk1.<payload>.<signature>): check that it was copied whole, or ${remedy}`);
  }
  const body = parts[1]!;
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new CoordinatorError('UNAUTHENTICATED', `enrollment token signature does not verify: it was not issued by this coordinator, or was altered; ${remedy}`);
  }
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    throw new CoordinatorError('UNAUTHENTICATED', `enrollment token payload is unreadable; ${remedy}`);
  }
  if (typeof payload?.h !== 'string' || !HOST_RE.test(payload.h) || !Number.isSafeInteger(payload.e) || typeof payload.n !== 'string' || typeof payload.f !== 'string') {
    throw new CoordinatorError('UNAUTHENTICATED', `enrollment token payload is incomplete; ${remedy}`);
  }
  if (payload.e <= now().getTime()) {
    throw new CoordinatorError('UNAUTHENTICATED', `enrollment token expired at ${new Date(payload.e).toISOString()}: ${remedy}`);
  }
  return payload;
}

/** What the catalog records to make a token single-use: never the token itself. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token.trim(), 'utf8').digest('hex');
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(`${TOKEN_PREFIX}.${body}`, 'utf8').digest();
}

/**
 * Revocations: `DIR/revoked-tokens.jsonl`, one `{"host","before"}` line per
 * `token --revoke`. A file, not the catalog, for the same reason tokens are
 * signed: the command must work while `serve` holds the embedded catalog.
 */
export async function revokeHostTokens(path: string, host: string, now: () => Date): Promise<void> {
  if (!HOST_RE.test(host)) throw new CoordinatorError('INVALID_ARGUMENT', `host ${JSON.stringify(host)} is not a valid host name`);
  const fh = await open(path, 'a', 0o600);
  try {
    await fh.appendFile(JSON.stringify({ host, before: now().getTime() }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Refuses a token issued for a host at or before its latest revocation. */
export async function checkNotRevoked(path: string, payload: TokenPayload): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { host?: string; before?: number };
    if (r.host === payload.h && typeof r.before === 'number' && (payload.i === undefined || payload.i <= r.before)) {
      throw new CoordinatorError('UNAUTHENTICATED', `enrollment token for ${payload.h} was revoked at ${new Date(r.before).toISOString()}; ask an operator for a new one ('pbk-coordinator token --host ${payload.h}')`);
    }
  }
}
