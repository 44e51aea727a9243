// pbk restore redis and pbk validate: bad flags are usage errors (exit 2)
// before credentials are read or anything is dialled; good flags parse.
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/args.js';
import { COMMANDS } from '../src/commands/index.js';
import { run } from '../src/main.js';
import { fakeIo } from './helpers.js';

describe('pbk restore redis / pbk validate', () => {
  it('parses every flag', () => {
    const p = parseCommandLine(['restore', 'redis', '--host', 'c-1', '--source', 's', '--at', '2h ago', '--to', '/r/dump.rdb', '--force', '--target-host', 'c-2'], COMMANDS);
    expect(p.kind === 'run' && p.values).toMatchObject({ host: 'c-1', source: 's', at: '2h ago', to: '/r/dump.rdb', force: true, 'target-host': 'c-2' });
    const v = parseCommandLine(['validate', '--host', 'c-1', '--source', 's', '--target-host', 'scratch'], COMMANDS);
    expect(v.kind === 'run' && v.command.path).toEqual(['validate']);
  });

  it.each([
    [['restore', 'redis', '--host', 'h', '--source', 's'], /give exactly one of --to FILE or --into HOST:PORT/],
    [['restore', 'redis', '--host', 'h', '--source', 's', '--to', '/a', '--into', 'h:1'], /give exactly one of/],
    [['restore', 'redis', '--host', 'h', '--source', 's', '--to', 'dump.rdb'], /--to must be an absolute path/],
    [['restore', 'redis', '--host', 'h', '--source', 's', '--into', 'localhost'], /--into must be HOST:PORT/],
    [['restore', 'redis', '--host', 'h', '--source', 's', '--into', 'h:6379', '--force'], /--force applies to --to only/],
    [['restore', 'redis', '--host', 'h', '--source', 's', '--to', '/a', '--at', 'next week'], /--at/],
    [['validate', '--host', 'h'], /--source/],
  ])('refuses %j with exit 2 before connecting', async (argv, message) => {
    // No credentials or coordinator in the environment: a usage error must come first.
    const io = fakeIo();
    expect(await run([...argv, '--json'], io)).toBe(2);
    const err = JSON.parse(io.stderrText().trim().split('\n').pop()!) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('USAGE');
    expect(err.error.message).toMatch(message);
  });
});
