/**
 * Pure parts of the WAL path: LSN and segment-name arithmetic (checked against
 * names PostgreSQL itself produces), the restore_command builder's quoting,
 * GrowingFile's piece bookkeeping (re-sends only the last piece, hash of the
 * prefix), and plain arguments for wal-push / wal-fetch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../src/args.js';
import { walFetchCommand } from '../src/commands/wal-fetch.js';
import { walPushCommand } from '../src/commands/wal-push.js';
import { GrowingFile, WAL_PIECE_BYTES } from '../src/postgres/wal/uploader.js';
import { formatLsn, isArchiveName, parseLsn, segmentName, segmentStart } from '../src/postgres/wal/names.js';
import { restoreCommandFor, restoreCommandSetting, shellQuote } from '../src/postgres/wal/restore-command.js';

const SEG = 16 * 1024 * 1024;

describe('LSNs and segment names', () => {
  it('parses and formats LSNs', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(() => parseLsn('16-B374')).toThrow(/not a PostgreSQL LSN/);
  });

  it('names segments as pg_walfile_name does (16 MiB and 1 MiB segments)', () => {
    // SELECT pg_walfile_name('16/B374D848') on timeline 1 -> 0000000100000016000000B3
    expect(segmentName(1, parseLsn('16/B374D848'), SEG)).toBe('0000000100000016000000B3');
    expect(segmentStart('0000000100000016000000B3', SEG)).toBe(0x16b3000000n);
    expect(segmentName(2, parseLsn('0/3000000'), SEG)).toBe('000000020000000000000003');
    expect(segmentName(1, parseLsn('1/FFFFFFFF'), 1024 * 1024)).toBe('000000010000000100000FFF'); // 4096 segments of 1 MiB per 4 GiB
    expect(segmentStart('000000010000000100000FFF', 1024 * 1024)).toBe(0x1fff00000n);
  });

  it('accepts only WAL file names (no paths, no lower case)', () => {
    for (const ok of ['000000010000000000000001', '00000002.history', '000000010000000000000001.00000028.backup', '000000010000000000000001.partial']) expect(isArchiveName(ok)).toBe(true);
    for (const bad of ['../000000010000000000000001', '00000001000000000000000a', '000000010000000000000001.tmp', 'x.history', '']) expect(isArchiveName(bad)).toBe(false);
  });
});

describe('restore_command', () => {
  it('quotes every word for the shell and leaves %f %p to PostgreSQL', () => {
    const cmd = restoreCommandFor({ socketPath: "/run/pbk agent/it's.sock", host: 'db-1', source: 'main', agentBin: ['/usr/bin/node', '/opt/pbk/agent/main.js'] });
    expect(cmd).toBe(`/usr/bin/node /opt/pbk/agent/main.js wal-fetch --socket '/run/pbk agent/it'\\''s.sock' --source db-1/main %f %p`);
    expect(restoreCommandSetting({ socketPath: '/run/pbk-agent/agent.sock', host: 'db-1', source: 'main', agentBin: 'pbk-agent' })).toBe(
      "restore_command = 'pbk-agent wal-fetch --socket /run/pbk-agent/agent.sock --source db-1/main %f %p'",
    );
    expect(shellQuote('a;rm -rf /')).toBe("'a;rm -rf /'");
  });

  it('runs the light wal-fetch entry, without the command word, when one is given', () => {
    const cmd = restoreCommandFor({ socketPath: '/run/pbk-agent/agent.sock', host: 'db-1', source: 'main', agentBin: ['/usr/bin/node', '/opt/pbk/agent/main.js'], walFetchBin: ['/usr/bin/node', '/opt/pbk/agent/wal-fetch.js'] });
    expect(cmd).toBe('/usr/bin/node /opt/pbk/agent/wal-fetch.js --socket /run/pbk-agent/agent.sock --source db-1/main %f %p');
  });
});

describe('GrowingFile', () => {
  it('re-sends only the last, still-growing piece and hashes exactly [0, size)', () => {
    const idKey = randomBytes(32);
    const data = randomBytes(WAL_PIECE_BYTES * 2 + 1000);
    const g = new GrowingFile('000000010000000000000001');
    let fresh = g.extend(data.subarray(0, 100), idKey);
    expect(fresh).toHaveLength(1);
    expect(g.size).toBe(100);
    expect(g.sha256().equals(createHash('sha256').update(data.subarray(0, 100)).digest())).toBe(true);

    fresh = g.extend(data.subarray(g.rereadFrom, WAL_PIECE_BYTES + 10), idKey);
    expect(fresh.map((p) => p.data.length)).toEqual([WAL_PIECE_BYTES, 10]);
    expect(g.pieces).toHaveLength(2);
    expect(g.rereadFrom).toBe(WAL_PIECE_BYTES);

    fresh = g.extend(data.subarray(g.rereadFrom), idKey);
    expect(fresh.map((p) => p.data.length)).toEqual([WAL_PIECE_BYTES, 1000]);
    expect(g.size).toBe(data.length);
    expect(g.pieces).toHaveLength(3);
    expect(g.sha256().equals(createHash('sha256').update(data).digest())).toBe(true);
    // The same bytes in one go give the same pieces (a restarted agent dedups against what it sent).
    const whole = new GrowingFile('x');
    whole.extend(data, idKey);
    expect(whole.pieces.map((p) => p.toString('hex'))).toEqual(g.pieces.map((p) => p.toString('hex')));
  });
});

describe('plain arguments (what PostgreSQL passes)', () => {
  it('wal-fetch takes %f %p after its flags; missing or extra ones are usage errors', () => {
    expect(parseFlags('wal-fetch', ['--source', 'db-1/main', '000000010000000000000001', 'pg_wal/RECOVERYXLOG'], walFetchCommand.flags, walFetchCommand.positionals)).toMatchObject({
      source: 'db-1/main',
      file: '000000010000000000000001',
      path: 'pg_wal/RECOVERYXLOG',
    });
    expect(() => parseFlags('wal-fetch', ['--source', 'db-1/main', '000000010000000000000001'], walFetchCommand.flags, walFetchCommand.positionals)).toThrow(/PATH missing/);
    expect(() => parseFlags('wal-push', ['a', 'b'], walPushCommand.flags, walPushCommand.positionals)).toThrow(/unexpected argument "b"/);
    expect(() => parseFlags('run', ['x'], {})).toThrow(/unexpected argument/);
  });
});
