/**
 * The enrollment token (docs/agent-coordinator.md, "Enrollment token"):
 *
 *   pbk1.<base64url(JSON payload)>.<base64url(HMAC-SHA-256(token.key, "pbk1." + payload part))>
 *   payload = { h: host, e: expiry unix ms, n: nonce, f: CA SHA-256 fingerprint (hex), p: enrollment port }
 *
 * The agent cannot check the signature (only the coordinator holds token.key);
 * it reads the payload to know which CA to pin, which port to dial and which
 * host to enroll as, and refuses a token that is malformed or already expired
 * by its own clock before touching the network.
 */
import { TokenError } from './errors.js';

export interface EnrollmentToken {
  /** The host the token was issued for: the agent enrolls under this name. */
  host: string;
  expiresUnixMs: number;
  /** SHA-256 of the coordinator CA's DER, lower-case hex: what fetchPinnedCa pins. */
  caFingerprint: string;
  /** Port of the coordinator's enrollment listener (on the same host as --coordinator). */
  enrollPort: number;
  /** The token as given, sent unchanged to Enroll. Never log it. */
  text: string;
}

const PREFIX = 'pbk1';
const B64URL_RE = /^[A-Za-z0-9_-]+$/;
/** The same host-name rule the coordinator's CA applies (libs/protocol identityUri). */
const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

/** Parses and checks a token; `now` is the agent's clock (injected for tests). */
export function parseEnrollmentToken(input: string, now: () => number = Date.now): EnrollmentToken {
  const text = input.trim();
  const parts = text.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) {
    throw new TokenError('INVALID_ARGUMENT', `the enrollment token is not a ${PREFIX} token (expected ${PREFIX}.<payload>.<signature>): copy the whole line 'pbk-coordinator token' printed`);
  }
  const [, payloadPart = '', signaturePart = ''] = parts;
  if (!B64URL_RE.test(payloadPart) || !B64URL_RE.test(signaturePart)) {
    throw new TokenError('INVALID_ARGUMENT', 'the enrollment token is damaged: its parts are not base64url');
  }
  if (Buffer.from(signaturePart, 'base64url').length !== 32) {
    throw new TokenError('INVALID_ARGUMENT', 'the enrollment token is damaged: its signature is not 32 bytes');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  } catch (err) {
    throw new TokenError('INVALID_ARGUMENT', 'the enrollment token is damaged: its payload is not JSON', { cause: err });
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new TokenError('INVALID_ARGUMENT', 'the enrollment token is damaged: its payload is not an object');
  }
  const { h, e, n, f, p } = payload as Record<string, unknown>;
  const bad = (field: string, want: string): TokenError =>
    new TokenError('INVALID_ARGUMENT', `the enrollment token's payload field "${field}" must be ${want}`);
  if (typeof h !== 'string' || !HOST_RE.test(h)) throw bad('h', 'a host name (letters, digits, ., -, _)');
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e <= 0) throw bad('e', 'an expiry time in unix milliseconds');
  if (typeof n !== 'string' || !B64URL_RE.test(n)) throw bad('n', 'a base64url nonce');
  if (typeof f !== 'string' || !/^[0-9a-fA-F]{64}$/.test(f.replaceAll(':', ''))) throw bad('f', 'a SHA-256 fingerprint (64 hex digits)');
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw bad('p', 'a TCP port (1-65535)');
  if (e <= now()) {
    throw new TokenError(
      'UNAUTHENTICATED',
      `the enrollment token for ${h} expired at ${new Date(e).toISOString()}: issue a new one with 'pbk-coordinator token --host ${h}' (check this host's clock if it should still be valid)`,
    );
  }
  return { host: h, expiresUnixMs: e, caFingerprint: f.replaceAll(':', '').toLowerCase(), enrollPort: p, text };
}
