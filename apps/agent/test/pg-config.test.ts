// The postgres part of the agent config: defaults with their reasons, every
// bad field reported with its name, secrets only as references; and the
// small pure helpers of the postgres folder (labels, recovery settings,
// what the server log says about where recovery stopped).
import { describe, expect, it } from 'vitest';
import { parseConfig, type PostgresSourceConfig } from '../src/config/config.js';
import { defaultSlotName, describePostgresSource, POSTGRES_DEFAULTS } from '../src/config/postgres.js';
import { ConfigError } from '../src/errors.js';
import { lsnToBigInt, parseBackupLabel, parseManifestWalRanges } from '../src/postgres/backup-label.js';
import { classifyFailure } from '../src/postgres/connection.js';
import { countTables, dumpDirName } from '../src/postgres/logical.js';
import { confQuote, recoveryFacts, recoveryTargetSettings } from '../src/postgres/restore.js';

const FILE = '/etc/pbk/agent.yaml';

function pgSource(yaml: string): PostgresSourceConfig {
  const c = parseConfig(`state: /var/lib/pbk-agent\nsources:\n  - name: main-db\n    kind: postgres\n${yaml}`, FILE);
  return c.sources[0] as PostgresSourceConfig;
}

function problems(yaml: string): string {
  try {
    pgSource(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('postgres source config', () => {
  it('fills the defaults', () => {
    const s = pgSource('    binDir: /usr/lib/postgresql/15/bin\n');
    expect(s.connection).toEqual({ host: '/var/run/postgresql', port: 5432, user: 'postgres', database: 'postgres', password: undefined, sslmode: undefined });
    expect(s.osUser).toBe('postgres');
    expect(s.wal).toMatchObject({ enabled: true, slot: 'pbk_main_db', spoolDir: '/var/lib/pbk-agent/wal/main-db', spoolLimitBytes: 1024 ** 3, recreateDroppedSlot: false });
    expect(s.baseSchedule?.text).toBe(POSTGRES_DEFAULTS.baseSchedule);
    expect(s.logicalSchedule?.text).toBe(POSTGRES_DEFAULTS.logicalSchedule);
    // Sundays 02:00 UTC and daily 02:00 UTC.
    const from = Date.UTC(2026, 10, 26, 12); // a Thursday
    expect(new Date(s.baseSchedule!.next(from)!).toISOString()).toBe('2026-11-29T02:00:00.000Z');
    expect(new Date(s.logicalSchedule!.next(from)!).toISOString()).toBe('2026-11-27T02:00:00.000Z');
    expect(s.jobs).toBe(2);
    expect(s.logicalDatabases).toBeUndefined();
    expect(s.baseMaxRateBytes).toBeUndefined();
  });

  it('takes every field, resolves a relative passwordFile from the config dir, and turns schedules off with null', () => {
    const s = pgSource(`    host: 10.0.0.5
    port: 6432
    user: pbk
    database: app
    passwordFile: pg.pass
    sslmode: verify-full
    binDir: /opt/pg/bin
    dataDirectory: /srv/pg/data
    osUser: pg
    slot: main_slot
    wal: { enabled: false, spoolDir: /srv/spool, spoolLimitBytes: 33554432, slotAlertBytes: 33554432, recreateDroppedSlot: true }
    baseSchedule: null
    logicalSchedule: '30 1 * * *'
    databases: [app, app, billing]
    jobs: 4
    baseMaxRateBytes: 10485760
`);
    expect(s.connection).toEqual({ host: '10.0.0.5', port: 6432, user: 'pbk', database: 'app', password: { file: '/etc/pbk/pg.pass' }, sslmode: 'verify-full' });
    expect(s.wal).toEqual({ enabled: false, slot: 'main_slot', spoolDir: '/srv/spool', spoolLimitBytes: 33554432, slotAlertBytes: 33554432, recreateDroppedSlot: true });
    expect(s.baseSchedule).toBeUndefined();
    expect(s.logicalSchedule?.text).toBe('30 1 * * *');
    expect(s.logicalDatabases).toEqual(['app', 'billing']);
    expect(s.jobs).toBe(4);
    expect(s.baseMaxRateBytes).toBe(10485760);
    expect(s.dataDirectory).toBe('/srv/pg/data');
  });

  it('refuses an inline password, and names every bad field at once', () => {
    const msg = problems(`    password: hunter2
    sslmode: sometimes
    slot: Bad-Slot
    port: 70000
    jobs: 0
    databases: []
    baseSchedule: 'every sunday'
    wal: { enabeld: true }
    hots: db
`);
    expect(msg).toContain('sources[0].password: inline secrets are not accepted: use passwordFile');
    expect(msg).toContain('sources[0].sslmode: must be one of');
    expect(msg).toContain('sources[0].slot: "Bad-Slot" is not a valid slot name');
    expect(msg).toContain('sources[0].port: must be an integer from 1 to 65535');
    expect(msg).toContain('sources[0].jobs');
    expect(msg).toContain('sources[0].databases');
    expect(msg).toContain('sources[0].baseSchedule');
    expect(msg).toContain('sources[0].wal.enabeld: unknown field; did you mean enabled?');
    expect(msg).toContain('sources[0].hots: unknown field; did you mean host?');
    // The value of the refused inline password is never repeated.
    expect(msg).not.toContain('hunter2');
  });

  it('refuses passwordFile and passwordEnv together, and a bad env name', () => {
    expect(problems('    passwordFile: /a\n    passwordEnv: B\n')).toContain('give passwordFile or passwordEnv, not both');
    expect(problems('    passwordEnv: "1-bad"\n')).toContain('passwordEnv: must be an environment variable name');
  });

  it('describes the source for check-config without secrets', () => {
    const s = pgSource('    passwordEnv: PG_SECRET\n    binDir: /usr/lib/postgresql/15/bin\n');
    const d = describePostgresSource(s, Date.UTC(2026, 10, 26, 12));
    expect(d).toMatchObject({ name: 'main-db', kind: 'postgres', nextBase: '2026-11-29T02:00:00.000Z', connection: { password: 'env PG_SECRET' } });
  });

  it('folds a source name into a valid slot name', () => {
    expect(defaultSlotName('Main-DB.eu')).toBe('pbk_main_db_eu');
    expect(defaultSlotName('x'.repeat(80))).toHaveLength(63);
  });
});

describe('postgres helpers', () => {
  it('reads backup_label and the manifest WAL ranges', () => {
    const label = parseBackupLabel(
      'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-26 10:00:00 UTC\nLABEL: pbk-x\nSTART TIMELINE: 1\n',
    );
    expect(label).toEqual({ startLsn: '0/2000028', startWalFile: '000000010000000000000002', checkpointLsn: '0/2000060', startTimeline: 1, label: 'pbk-x' });
    expect(() => parseBackupLabel('garbage')).toThrow(/START WAL LOCATION/);
    expect(parseManifestWalRanges('{"WAL-Ranges":[{"Timeline":2,"Start-LSN":"0/5000028","End-LSN":"0/5000100"}]}')).toEqual([{ timeline: 2, startLsn: '0/5000028', endLsn: '0/5000100' }]);
    expect(() => parseManifestWalRanges('{}')).toThrow(/WAL-Ranges/);
    expect(lsnToBigInt('1/0') > lsnToBigInt('0/FFFFFFFF')).toBe(true);
  });

  it('writes the recovery target settings, refusing bad targets', () => {
    expect(recoveryTargetSettings({ target: 'timeUnixMs', timeUnixMs: String(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), exclusive: false })).toEqual({
      recovery_target_time: "'2026-01-02 03:04:05.678+00'",
      recovery_target_inclusive: 'on',
    });
    expect(recoveryTargetSettings({ target: 'lsn', lsn: '0/3000148', exclusive: true })).toEqual({ recovery_target_lsn: "'0/3000148'", recovery_target_inclusive: 'off' });
    expect(recoveryTargetSettings({ target: 'name', name: "it's", exclusive: false }).recovery_target_name).toBe("'it''s'");
    expect(recoveryTargetSettings({ target: undefined, exclusive: false })).toEqual({});
    expect(() => recoveryTargetSettings({ target: 'xid', xid: '12; DROP', exclusive: false })).toThrow(/not a transaction id/);
    expect(() => recoveryTargetSettings({ target: 'lsn', lsn: 'x', exclusive: false })).toThrow(/not an LSN/);
    expect(confQuote("a\\b'c")).toBe("'a\\\\b''c'");
  });

  it('reads where recovery stopped from the server log', () => {
    const log = [
      '2026-11-26 10:33:21.100 UTC [1] LOG:  consistent recovery state reached at 0/A000100',
      '2026-11-26 10:33:21.200 UTC [1] LOG:  recovery stopping before commit of transaction 745, time 2026-11-26 10:30:00.123456+00',
      '2026-11-26 10:33:21.200 UTC [1] LOG:  redo done at 0/A0003F0 system usage: CPU: user: 0.00 s',
      '2026-11-26 10:33:21.200 UTC [1] LOG:  last completed transaction was at log time 2026-11-26 10:29:59.987654+00',
      '2026-11-26 10:33:21.300 UTC [1] LOG:  selected new timeline ID: 3',
    ].join('\n');
    expect(recoveryFacts(log)).toEqual({
      recovery_stop: 'before commit of transaction 745 at 2026-11-26T10:30:00.123Z',
      restored_to: '2026-11-26T10:29:59.987Z',
      restored_to_lsn: '0/A0003F0',
      timeline: '3',
      consistent_at_lsn: '0/A000100',
    });
  });

  it('classifies failures of PostgreSQL programs for operators', () => {
    const conn = { host: 'db', port: 5432, user: 'pbk', database: 'postgres', password: undefined, sslmode: undefined };
    const auth = classifyFailure('pg_basebackup', 1, 'pg_basebackup: error: connection to server at "db" failed: FATAL:  password authentication failed for user "pbk"', conn, 'main');
    expect(auth.code).toBe('UNAUTHENTICATED');
    expect(auth.message).toContain('Check passwordFile/passwordEnv');
    const gone = classifyFailure('pg_basebackup', 1, 'pg_basebackup: error: could not read COPY data: server closed the connection unexpectedly', conn, 'main');
    expect(gone.code).toBe('FAILED_PRECONDITION');
    expect(gone.message).toContain('Nothing was committed');
    expect(classifyFailure('pg_dump', 1, 'pg_dump: error: query failed: ERROR:  permission denied for table x', conn, 'main').message).toContain('pg_dump failed (exit 1)');
  });

  it('names dump directories safely and counts tables in a pg_restore listing', () => {
    expect(dumpDirName('app')).toBe('app');
    expect(dumpDirName('a/b c')).toBe('a%2Fb%20c');
    expect(dumpDirName('..')).toBe('%2E%2E');
    expect(countTables(';\n; Archive created\n3253; 0 16390 TABLE DATA public orders postgres\n3254; 0 16391 TABLE DATA public customers postgres\n215; 1259 16390 TABLE public orders postgres\n')).toBe(2);
  });
});
