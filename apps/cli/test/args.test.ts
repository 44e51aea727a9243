// The command line: good input parses to the right command and values; bad
// input is a usage error (exit 2) before any file is read or call is made.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.js';
import { COMMANDS } from '../src/commands/index.js';
import { UsageError } from '../src/errors.js';
import { run } from '../src/main.js';
import { fakeIo } from './helpers.js';

function parsed(argv: string[]) {
  const p = parseCommandLine(argv, COMMANDS);
  if (p.kind !== 'run') throw new Error(`expected a command, got ${p.kind}`);
  return { name: p.command.path.join(' '), values: p.values, global: p.global };
}

describe('parseCommandLine: good input', () => {
  it('finds one- and two-word commands, with global options anywhere', () => {
    expect(parsed(['status']).name).toBe('status');
    const p = parsed(['--coordinator', 'c:7443', 'backup', '--host', 'db-1', 'now', '--source', 'etc', '--wait', '--json']);
    expect(p.name).toBe('backup now');
    expect(p.values).toMatchObject({ host: 'db-1', source: 'etc', wait: true });
    expect(p.global).toEqual({ coordinator: 'c:7443', credentials: undefined, json: true });
  });

  it('takes --opt=value and values that start with a dash-digit (relative times)', () => {
    const p = parsed(['snapshots', '--since', '-30m', '--until=-5m', '--limit', '5', '--kind', 'files']);
    expect(p.values).toMatchObject({ since: '-30m', until: '-5m', limit: '5', kind: 'files' });
  });

  it('parses restore files with every flag', () => {
    const p = parsed(['restore', 'files', '--host', 'a', '--source', 's', '--at', '2h ago', '--path', 'etc/x', '--to', '/r', '--force', '--target-host', 'b']);
    expect(p.values).toMatchObject({ host: 'a', source: 's', at: '2h ago', path: 'etc/x', to: '/r', force: true, 'target-host': 'b' });
  });

  it('recognises help in all its forms', () => {
    expect(parseCommandLine(['--help'], COMMANDS)).toEqual({ kind: 'help', topic: [] });
    expect(parseCommandLine(['help'], COMMANDS)).toEqual({ kind: 'help', topic: [] });
    expect(parseCommandLine(['help', 'backup', 'now'], COMMANDS)).toEqual({ kind: 'help', topic: ['backup', 'now'] });
    expect(parseCommandLine(['backup', 'now', '--help'], COMMANDS)).toEqual({ kind: 'help', topic: ['backup', 'now'] });
    expect(parseCommandLine(['restore', '-h'], COMMANDS)).toEqual({ kind: 'help', topic: ['restore'] });
    expect(parseCommandLine(['--version'], COMMANDS)).toEqual({ kind: 'version' });
  });
});

describe('parseCommandLine: bad input is a UsageError', () => {
  it.each([
    [[], /no command given/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['backup'], /needs a subcommand: backup now/],
    [['backup', 'later'], /unknown subcommand 'backup later'/],
    [['status', 'extra'], /unexpected argument 'extra'/],
    [['status', '--bogus'], /Unknown option '--bogus'/],
    [['snapshots', '--host'], /--host/],
    [['backup', 'now', '--source', 'etc'], /needs --host HOST/],
    [['backup', 'now', '--host', 'a', '--source', ''], /--source must not be empty/],
    [['restore', 'files', '--host', 'a', '--source', 's'], /needs --to DIR/],
    [['status', '--json=yes'], /--json/],
    [['help', 'nothing'], /no help on 'nothing'/],
    [['snapshots', '--force'], /Unknown option '--force'/],
  ])('%j', (argv, message) => {
    expect(() => parseCommandLine(argv, COMMANDS)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, COMMANDS)).toThrow(message);
  });
});

describe('run(): usage errors exit 2 without touching credentials or the network', () => {
  // No PBK_COORDINATOR / PBK_CREDENTIALS: any attempt to connect would fail differently.
  it.each([
    [['frobnicate'], /unknown command/],
    [['snapshots', '--limit', 'ten'], /--limit must be a whole number/],
    [['snapshots', '--limit', '-1'], /--limit must be a whole number/],
    [['snapshots', '--kind', 'mysql'], /--kind must be one of files, postgres, redis/],
    [['snapshots', '--since', 'last tuesday'], /--since: "last tuesday" is not a time/],
    [['snapshots', '--since', '1h ago', '--until', '2h ago'], /--since is after --until/],
    [['restore', 'files', '--host', 'a', '--source', 's', '--to', 'relative/dir'], /--to must be an absolute path/],
    [['restore', 'files', '--host', 'a', '--source', 's', '--to', '/r', '--at', 'now', '--snapshot', 'abcdef12'], /--at or --snapshot, not both/],
    [['restore', 'files', '--host', 'a', '--source', 's', '--to', '/r', '--snapshot', 'xyz'], /--snapshot takes a snapshot id in hex/],
    [['restore', 'files', '--host', 'a', '--source', 's', '--to', '/r', '--snapshot', 'abc'], /--snapshot takes a snapshot id in hex/],
    [['verify', '--read-data', '150'], /--read-data must be a percentage/],
    [['verify', '--read-data', 'all'], /--read-data must be a percentage/],
    [['status'], /no coordinator address: pass --coordinator HOST:PORT or set PBK_COORDINATOR/],
    [['status', '--coordinator', 'nohost'], /is not HOST:PORT/],
    [['status', '--coordinator', 'h:99999'], /is not HOST:PORT/],
    [['status', '--coordinator', 'h:7443'], /no credentials: pass --credentials DIR or set PBK_CREDENTIALS/],
  ])('%j', async (argv, message) => {
    const io = fakeIo();
    expect(await run(argv, io)).toBe(2);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toMatch(message);
    expect(io.stderrText()).toMatch(/Run 'pbk .*--help'/);
  });

  it('reports a usage error as one JSON document on stderr under --json', async () => {
    const io = fakeIo();
    expect(await run(['snapshots', '--limit', 'x', '--json'], io)).toBe(2);
    expect(io.stdoutText()).toBe('');
    expect(JSON.parse(io.stderrText())).toEqual({ error: { code: 'USAGE', message: expect.stringMatching(/--limit/) } });
    const io2 = fakeIo();
    expect(await run(['--json', 'nope'], io2)).toBe(2);
    expect(JSON.parse(io2.stderrText()).error.code).toBe('USAGE');
  });

  it('prints help on stdout with exit 0, each command naming its role', async () => {
    for (const argv of [['--help'], ['help'], ['help', 'snapshots'], ['snapshots', '--help'], ['help', 'backup'], ['backup', 'now', '-h']]) {
      const io = fakeIo();
      expect(await run(argv, io)).toBe(0);
      expect(io.stdoutText()).toMatch(/Usage: pbk/);
    }
    for (const c of COMMANDS) {
      const io = fakeIo();
      await run(['help', ...c.path], io);
      expect(io.stdoutText()).toContain(`Role: ${c.role}`);
      expect(io.stdoutText()).toContain(`Usage: pbk ${c.path.join(' ')}`);
    }
  });

  it('takes the coordinator address from the environment when the flag is absent', async () => {
    const io = fakeIo({ env: { PBK_COORDINATOR: 'bad address' } });
    expect(await run(['status'], io)).toBe(2);
    expect(io.stderrText()).toMatch(/"bad address" is not HOST:PORT/);
  });
});

describe('restore postgres --tablespace-map', () => {
  it('takes NAME=DIR pairs, comma-separated, and refuses anything else', async () => {
    const { parseTablespaceMap } = await import('../src/commands/restore-postgres.js');
    expect(parseTablespaceMap(undefined)).toEqual({});
    expect(parseTablespaceMap('fast=/srv/ssd/fast,16390=/srv/b')).toEqual({ fast: '/srv/ssd/fast', 16390: '/srv/b' });
    expect(() => parseTablespaceMap('fast=rel/dir')).toThrow(UsageError);
    expect(() => parseTablespaceMap('=/x')).toThrow(/NAME=DIR pairs/);
    expect(() => parseTablespaceMap('/x')).toThrow(/NAME=DIR pairs/);
    expect(() => parseTablespaceMap('a=/x,a=/y')).toThrow(/names a twice/);
  });
});
