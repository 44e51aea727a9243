import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenError } from '../src/errors.js';
import { parseEnrollmentToken } from '../src/token.js';

const NOW = Date.UTC(2025, 0, 1);
const FP = 'ab'.repeat(32);

function makeToken(payload: Record<string, unknown>): string {
  const part = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = createHmac('sha256', randomBytes(32)).update(`pbk1.${part}`).digest('base64url');
  return `pbk1.${part}.${sig}`;
}
const good = { h: 'web-1', e: NOW + 3600_000, n: randomBytes(16).toString('base64url'), f: FP, p: 7444 };

describe('enrollment token', () => {
  it('parses the payload the contract doc specifies', () => {
    const text = makeToken(good);
    const t = parseEnrollmentToken(`  ${text}\n`, () => NOW);
    expect(t).toEqual({ host: 'web-1', expiresUnixMs: NOW + 3600_000, caFingerprint: FP, enrollPort: 7444, text });
  });

  it('accepts a colon-separated, upper-case fingerprint', () => {
    const f = FP.toUpperCase().match(/../g)!.join(':');
    expect(parseEnrollmentToken(makeToken({ ...good, f }), () => NOW).caFingerprint).toBe(FP);
  });

  it.each([
    ['not a token', /not a pbk1 token/],
    ['pbk2.abc.def', /not a pbk1 token/],
    ['pbk1.a+b.cd', /not base64url/],
    [`pbk1.${Buffer.from('{}').toString('base64url')}.${Buffer.alloc(5).toString('base64url')}`, /signature is not 32 bytes/],
    [`pbk1.${Buffer.from('nope').toString('base64url')}.${Buffer.alloc(32).toString('base64url')}`, /payload is not JSON/],
  ])('rejects a malformed token %#', (text, message) => {
    expect(() => parseEnrollmentToken(text, () => NOW)).toThrow(message);
  });

  it.each([
    [{ h: 'bad host!' }, /"h"/],
    [{ e: 'soon' }, /"e"/],
    [{ f: 'abc' }, /"f"/],
    [{ p: 70000 }, /"p"/],
    [{ n: 5 }, /"n"/],
  ])('names the bad payload field %#', (patch, message) => {
    const err = (() => {
      try {
        parseEnrollmentToken(makeToken({ ...good, ...patch }), () => NOW);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(message);
  });

  it('refuses an expired token by the injected clock, saying how to get a new one', () => {
    const text = makeToken(good);
    expect(() => parseEnrollmentToken(text, () => NOW + 3600_001)).toThrow(/expired at .*pbk-coordinator token --host web-1/);
    try {
      parseEnrollmentToken(text, () => NOW + 3600_001);
    } catch (e) {
      expect((e as TokenError).code).toBe('UNAUTHENTICATED');
    }
  });
});
