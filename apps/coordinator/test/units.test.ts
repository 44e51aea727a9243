/** The pure pieces: enrollment tokens (with an injected clock), flag parsing, metrics text. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseFlags, parseHostPort } from '../src/args.js';
import { compileServeConfig, DEFAULT_FILE_CONFIG, readFileConfig, SERVE_DEFAULTS } from '../src/config.js';
import { signToken, tokenHash, verifyToken } from '../src/enroll-token.js';
import { Metrics } from '../src/metrics.js';

describe('enrollment tokens', () => {
  const key = randomBytes(32);
  let t = Date.parse('2026-01-01T00:00:00Z');
  const now = (): Date => new Date(t);
  const issue = (host = 'web-1'): string => signToken(key, { host, ttlMs: 60_000, caFingerprint: 'ab'.repeat(32), enrollPort: 7444, now });

  it('round-trips and expires by the injected clock', () => {
    const tok = issue();
    expect(verifyToken(key, tok, now)).toMatchObject({ h: 'web-1', e: t + 60_000, p: 7444, f: 'ab'.repeat(32) });
    expect(tokenHash(tok)).toMatch(/^[0-9a-f]{64}$/);
    t += 60_000;
    expect(() => verifyToken(key, tok, now)).toThrow(/expired/);
  });

  it('refuses other keys, edited payloads and junk, all UNAUTHENTICATED', () => {
    t = Date.parse('2026-01-01T00:00:00Z');
    const tok = issue();
    const [p, body, sig] = tok.split('.') as [string, string, string];
    const edited = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), h: 'db-1' })).toString('base64url');
    for (const bad of [`${p}.${edited}.${sig}`, tok.slice(0, -2), 'pbk1..', '', 'x'.repeat(100)]) {
      expect(() => verifyToken(key, bad, now)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    }
    expect(() => verifyToken(randomBytes(32), tok, now)).toThrow(/signature/);
    expect(() => issue('bad host')).toThrow(/host name/);
  });
});

describe('flags', () => {
  const specs = { data: { value: 'DIR', required: true, help: '' }, san: { value: 'N', repeat: true, help: '' } } as const;
  it('parses --flag value, --flag=value and repeats; refuses the rest', () => {
    expect(parseFlags('x', specs, ['--data', '/d', '--san=a', '--san', 'b'])).toEqual({ data: '/d', san: ['a', 'b'] });
    expect(() => parseFlags('x', specs, [])).toThrow(/--data DIR is required/);
    expect(() => parseFlags('x', specs, ['--data'])).toThrow(/needs a value/);
    expect(() => parseFlags('x', specs, ['--data', '/d', '--key', 'secret'])).toThrow(/unknown option --key/);
    expect(() => parseFlags('x', specs, ['pos'])).toThrow(/unexpected argument/);
  });
  it('reads addresses and durations', () => {
    expect(parseHostPort('l', '127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0, address: '127.0.0.1:0' });
    expect(parseHostPort('l', '[::1]:7443').address).toBe('[::1]:7443');
    expect(() => parseHostPort('l', 'localhost')).toThrow(/HOST:PORT/);
    expect(parseDuration('t', '1h30m')).toBe(5_400_000);
    expect(() => parseDuration('t', '1y')).toThrow(/duration/);
  });
});

it('writes Prometheus text with escaped labels', () => {
  const m = new Metrics();
  m.backupsCommitted = 2;
  const text = m.render({
    now: new Date('2026-01-01T01:00:00Z'),
    connectedAgents: 1,
    openRuns: 0,
    latestSnapshots: [
      {
        id: 'a'.repeat(64),
        version: 1,
        time: '2026-01-01T00:00:00.000Z',
        source: { host: 'web-1', kind: 'files', name: 'we"ird\\name' },
        tags: [],
        tree: 'b'.repeat(64),
        dekId: 'c'.repeat(32),
        summary: { files: 0, dirs: 0, bytesTotal: 0, bytesRead: 0, blobsNew: 0, bytesNewStored: 0, durationMs: 0, errors: [] },
      },
    ],
    repository: { blobs: 3, packs: 1, storedBytes: 100 },
    heartbeats: [
      {
        host: 'db-1',
        at: new Date('2026-01-01T00:59:50Z'),
        sources: [
          { source: { kind: 'SOURCE_KIND_POSTGRES', name: 'main' }, state: 'degraded', facts: { wal_retained_bytes: '1048576', wal_lag_bytes: 'n/a', wal_last_durable_unix_ms: '1767225590000' } },
          { source: null, state: 'ok', facts: {} },
        ],
      },
    ],
  });
  expect(text).toContain('pbk_backups_committed_total 2\n');
  expect(text).toContain('pbk_agent_heartbeat_age_seconds{host="db-1"} 10\n');
  expect(text).toContain('pbk_source_state{host="db-1",kind="postgres",source="main",state="degraded"} 1\n');
  expect(text).toContain('pbk_source_state{host="db-1",kind="postgres",source="main",state="ok"} 0\n');
  expect(text).toContain('pbk_wal_slot_retained_bytes{host="db-1",kind="postgres",source="main"} 1048576\n');
  expect(text).toContain('pbk_wal_last_durable_timestamp_seconds{host="db-1",kind="postgres",source="main"} 1767225590\n');
  // A fact that is not a number is left out, not exported as NaN.
  expect(text).not.toContain('pbk_wal_lag_bytes');
  expect(text).toContain('pbk_last_snapshot_age_seconds{host="web-1",kind="files",source="we\\"ird\\\\name"} 3600\n');
});

describe('compressionLevel (coordinator.json)', () => {
  it('takes zstd levels from -7 to 19 but 0, and refuses the rest with the field named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pbk-config-'));
    try {
      const file = join(dir, 'coordinator.json');
      const read = async (level: unknown): Promise<number | undefined> => {
        await writeFile(file, JSON.stringify({ ...DEFAULT_FILE_CONFIG, compressionLevel: level }), { mode: 0o600 });
        return (await readFileConfig(file)).compressionLevel;
      };
      expect(await read(-1)).toBe(-1);
      expect(await read(19)).toBe(19);
      for (const bad of [0, 1.5, -8, 20, '3']) await expect(read(bad)).rejects.toThrow(/"compressionLevel" must be a zstd level from -7 to 19/);
      const compile = (level?: number) => compileServeConfig({ dataDir: dir }, { ...DEFAULT_FILE_CONFIG, ...(level !== undefined ? { compressionLevel: level } : {}) }, {}).compressionLevel;
      expect(compile()).toBe(SERVE_DEFAULTS.compressionLevel);
      expect(compile(-3)).toBe(-3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
