/** Redis source config (config/redis.ts through the agent's config loader) and the pure Redis parsers (redis/info.ts). */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/config.js';
import { describeRedisSource, REDIS_DEFAULTS, type RedisSourceConfig } from '../src/config/redis.js';
import {
  bgsaveFailureFromLog,
  compareKeyCounts,
  formatCounts,
  parseCheckRdb,
  parseCounts,
  parseInfo,
  parseKeyspace,
  parseLoadedLine,
  parsePersistence,
  rdbTrailerOk,
  rdbVersion,
} from '../src/redis/info.js';

const FILE = '/etc/pbk/agent.yaml';
const yaml = (source: string): string => `state: /var/lib/pbk-agent\nsources:\n${source}`;
const redisOf = (text: string): RedisSourceConfig => parseConfig(yaml(text), FILE).sources[0] as RedisSourceConfig;

describe('redis source config', () => {
  it('applies the documented defaults', () => {
    const c = redisOf('  - name: cache\n    kind: redis\n    address: 127.0.0.1:6379\n');
    expect(c).toMatchObject({
      name: 'cache',
      kind: 'redis',
      address: '127.0.0.1:6379',
      host: '127.0.0.1',
      port: 6379,
      username: undefined,
      password: undefined,
      tls: false,
      rdbPath: undefined,
      bgsaveTimeoutMs: REDIS_DEFAULTS.bgsaveTimeoutMs,
      pollIntervalMs: REDIS_DEFAULTS.pollIntervalMs,
      backupOnStart: false,
    });
    expect(c.schedule?.text).toBe('0 * * * *');
  });

  it('takes every field, a relative passwordFile anchored at the config dir, schedule null = off', () => {
    const c = redisOf(
      '  - name: sessions\n    kind: redis\n    address: "[::1]:6380"\n    username: backup\n    passwordFile: redis.pass\n    tls: true\n' +
        '    schedule: null\n    rdbPath: /var/lib/redis/dump.rdb\n    bgsaveTimeoutMs: 60000\n    backupOnStart: true\n',
    );
    expect(c).toMatchObject({ host: '::1', port: 6380, username: 'backup', password: { file: '/etc/pbk/redis.pass' }, tls: true, schedule: undefined, rdbPath: '/var/lib/redis/dump.rdb', bgsaveTimeoutMs: 60000, backupOnStart: true });
    const d = describeRedisSource(c, Date.UTC(2025, 0, 1));
    expect(d).toMatchObject({ password: 'from file /etc/pbk/redis.pass', schedule: 'off' });
    expect(JSON.stringify(d)).not.toContain('secret');
  });

  it('refuses bad input, naming every field at once', () => {
    expect(() =>
      redisOf('  - name: c\n    kind: redis\n    address: localhost\n    password: hunter2\n    rdbPath: dump.rdb\n    schedul: "0 * * * *"\n    bgsaveTimeoutMs: 5\n'),
    ).toThrowError(
      expect.objectContaining({
        message: expect.stringMatching(
          /sources\[0\]\.schedul: unknown field; did you mean schedule\?[\s\S]*sources\[0\]\.address: must be HOST:PORT[\s\S]*sources\[0\]\.password: inline secrets are not accepted[\s\S]*sources\[0\]\.rdbPath: must be an absolute path[\s\S]*bgsaveTimeoutMs: must be an integer/,
        ),
      }),
    );
    expect(() => redisOf('  - name: c\n    kind: redis\n')).toThrow(/address: is required/);
    expect(() => redisOf('  - name: c\n    kind: redis\n    address: h:1\n    passwordFile: /a\n    passwordEnv: B\n')).toThrow(/give passwordFile or passwordEnv, not both/);
  });

  it('is documented in docs/agent-config.md (every field and default)', () => {
    const doc = readFileSync(new URL('../../../docs/agent-config.md', import.meta.url), 'utf8');
    for (const f of ['address', 'username', 'passwordFile', 'passwordEnv', 'tls', 'rdbPath', 'bgsaveTimeoutMs', 'connectTimeoutMs', 'pollIntervalMs', 'backupOnStart']) expect(doc).toContain(`\`${f}\``);
    for (const v of [REDIS_DEFAULTS.schedule, String(REDIS_DEFAULTS.bgsaveTimeoutMs), String(REDIS_DEFAULTS.connectTimeoutMs), String(REDIS_DEFAULTS.pollIntervalMs)]) expect(doc).toContain(v);
  });
});

describe('redis parsers', () => {
  const persistenceText =
    '# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:3\r\nrdb_bgsave_in_progress:1\r\nrdb_last_save_time:1795688011\r\nrdb_last_bgsave_status:err\r\n' +
    'rdb_current_bgsave_time_sec:4\r\nrdb_saves:7\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\n';

  it('reads INFO persistence, with and without rdb_saves', () => {
    expect(parsePersistence(parseInfo(persistenceText))).toEqual({
      bgsaveInProgress: true,
      lastSave: 1795688011,
      lastBgsaveOk: false,
      saves: 7,
      aofRewriteInProgress: false,
      aofEnabled: true,
      currentBgsaveSec: 4,
    });
    expect(parsePersistence(parseInfo(persistenceText.replace('rdb_saves:7\r\n', ''))).saves).toBeUndefined();
    expect(() => parsePersistence(parseInfo('# Server\r\nredis_version:7.0.15\r\n'))).toThrow(/lacks rdb_bgsave_in_progress/);
  });

  it('reads INFO keyspace and round-trips the count labels', () => {
    const ks = parseKeyspace(parseInfo('# Keyspace\r\ndb10:keys=1,expires=0,avg_ttl=0\r\ndb0:keys=2,expires=1,avg_ttl=5\r\n'));
    expect([...ks]).toEqual([
      [0, { keys: 2, expires: 1 }],
      [10, { keys: 1, expires: 0 }],
    ]);
    expect(formatCounts(ks, 'keys')).toBe('db0=2,db10=1');
    expect(formatCounts(ks, 'expires')).toBe('db0=1,db10=0');
    expect([...parseCounts('db0=2,db10=1')]).toEqual([
      [0, 2],
      [10, 1],
    ]);
    expect(parseCounts('').size).toBe(0);
    expect(() => parseCounts('db0:2')).toThrow(/not a key count label/);
  });

  it('reads the RDB header and EOF marker', () => {
    expect(rdbVersion(Buffer.from('REDIS0010\xfa', 'latin1'))).toBe(10);
    expect(rdbVersion(Buffer.from('REDIS001', 'latin1'))).toBeUndefined();
    expect(rdbVersion(Buffer.from('PGDMP0010', 'latin1'))).toBeUndefined();
    expect(rdbTrailerOk(Buffer.from([0xff, 1, 2, 3, 4, 5, 6, 7, 8]), 10)).toBe(true);
    expect(rdbTrailerOk(Buffer.from([0xfe, 1, 2, 3, 4, 5, 6, 7, 8]), 10)).toBe(false);
  });

  it('reads redis-check-rdb output and the load line of the Redis log', () => {
    const out = '[offset 135] \\o/ RDB looks OK! \\o/\n[info] 3 keys read\n[info] 1 expires\n[info] 1 already expired\n';
    expect(parseCheckRdb(out)).toEqual({ ok: true, keysRead: 3, expires: 1, alreadyExpired: 1 });
    expect(parseCheckRdb('--- RDB ERROR DETECTED ---\n[offset 30] Unexpected EOF reading RDB file').ok).toBe(false);
    expect(parseLoadedLine('1:M 26 Nov 2026 10:14:42.758 * Done loading RDB, keys loaded: 2, keys expired: 1.')).toEqual({ loaded: 2, expired: 1 });
  });

  it("takes a failed BGSAVE's reason from the log the request added", () => {
    const log =
      '13012:M 26 Nov 2026 10:13:44.464 * Background saving started by pid 13021\n' +
      '13021:C 26 Nov 2026 10:13:44.464 # Failed opening the temp RDB file temp-13021.rdb (in server root dir /mnt/ro) for saving: Read-only file system\n' +
      '13012:M 26 Nov 2026 10:13:44.552 # Background saving error\n';
    expect(bgsaveFailureFromLog(log)).toBe('Failed opening the temp RDB file temp-13021.rdb (in server root dir /mnt/ro) for saving: Read-only file system');
    expect(bgsaveFailureFromLog('13012:M 26 Nov 2026 10:13:44.552 # Background saving error\n')).toBe('Background saving error');
    expect(bgsaveFailureFromLog('13012:M 26 Nov 2026 10:13:44.464 * Background saving started by pid 13021\n')).toBeUndefined();
  });

  it('compares loaded key counts with the recorded ones', () => {
    const m = (o: Record<number, number>): Map<number, number> => new Map(Object.entries(o).map(([k, v]) => [Number(k), v]));
    expect(compareKeyCounts({ recorded: m({ 0: 5, 3: 1 }), recordedAfter: undefined, loaded: m({ 0: 5, 3: 1 }), expiredAtLoad: 0, fileKeys: 6 })).toEqual({ ok: true, detail: 'db0: 5 (expected 5), db3: 1 (expected 1)' });
    // Keys that expired between the dump and the load are allowed for.
    expect(compareKeyCounts({ recorded: m({ 0: 5 }), recordedAfter: undefined, loaded: m({ 0: 4 }), expiredAtLoad: 1, fileKeys: 5 }).ok).toBe(true);
    // Writes during the dump: anything between the counts before and after.
    expect(compareKeyCounts({ recorded: m({ 0: 5 }), recordedAfter: m({ 0: 9 }), loaded: m({ 0: 7 }), expiredAtLoad: 0, fileKeys: 7 }).ok).toBe(true);
    const lost = compareKeyCounts({ recorded: m({ 0: 5, 1: 2 }), recordedAfter: undefined, loaded: m({ 0: 5 }), expiredAtLoad: 0, fileKeys: 7 });
    expect(lost.ok).toBe(false);
    expect(lost.detail).toMatch(/db1 has 0 keys, expected 2/);
    expect(lost.detail).toMatch(/5 keys loaded \+ 0 expired at load != 7 keys in the file/);
  });
});
