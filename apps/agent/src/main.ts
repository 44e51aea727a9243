#!/usr/bin/env -S node --initial-old-space-size=128
/**
 * pbk-agent: the per-host daemon of Privatus Backup.
 *
 *   pbk-agent enroll --coordinator HOST:PORT --token - --state DIR   commands/enroll.ts
 *   pbk-agent run --config FILE                                      commands/run.ts   (daemon/agent.ts)
 *   pbk-agent check-config --config FILE                             commands/check-config.ts
 *   pbk-agent wal-push [--source NAME] %p                            commands/wal-push.ts  (archive_command)
 *   pbk-agent wal-fetch --source HOST/NAME %f %p                     commands/wal-fetch.ts (restore_command)
 *
 * This file is the edge: it picks the command, parses its flags, and is the
 * only place that turns errors into exit codes (EXIT_FOR_CODE).
 *
 * The shebang starts V8 with a 128 MiB old generation before its first full
 * collection (docs/agent-coordinator.md, "Node.js heap"): with its default, the few
 * promoted buffers of a busy upload kept the heap at its limit and V8 ran a full
 * collection about every 100 ms (bench/RESULTS.md, session 8). Start the daemon
 * through the shebang (its bin, the systemd unit), or pass the same flag to node.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorCode } from '@pbk/protocol';
import { flagHelp, parseFlags } from './args.js';
import { systemClock } from './clock.js';
import type { CommandIo } from './commands/command.js';
import { COMMANDS } from './commands/index.js';
import { codeOf, messageOf, UsageError } from './errors.js';
import { AGENT_VERSION } from './version.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, auth: 4, unavailable: 5, integrity: 6, precondition: 8 } as const;

/** Every pbk code to an exit code (the same numbers as the pbk CLI). */
export const EXIT_FOR_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  PERMISSION_DENIED: EXIT.auth,
  UNAUTHENTICATED: EXIT.auth,
  UNAVAILABLE: EXIT.unavailable,
  DEADLINE_EXCEEDED: EXIT.unavailable,
  CORRUPT: EXIT.integrity,
  INTEGRITY: EXIT.integrity,
  WRONG_KEY: EXIT.integrity,
  FAILED_PRECONDITION: EXIT.precondition,
  ALREADY_EXISTS: EXIT.precondition,
  INTERNAL: EXIT.failure,
  NO_SPACE: EXIT.failure,
  RESOURCE_EXHAUSTED: EXIT.failure,
  CANCELLED: EXIT.failure,
};

export function helpText(): string {
  const lines = [`pbk-agent ${AGENT_VERSION}: the Privatus Backup agent`, '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.usage}`, `      ${c.summary}`, flagHelp(c.flags).replace(/^/gm, '    '), '');
  lines.push('Exit codes: 0 ok, 1 failure, 2 usage or config error, 3 not found, 4 authentication, 5 coordinator unavailable, 6 integrity, 8 precondition (e.g. already enrolled).');
  lines.push('Docs: docs/agent-config.md (config), docs/agent-coordinator.md (protocol).');
  return `${lines.join('\n')}\n`;
}

export async function main(io: CommandIo): Promise<number> {
  const [name, ...rest] = io.argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`pbk-agent ${AGENT_VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')} (pbk-agent --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(`${command.usage}\n  ${command.summary}\n${flagHelp(command.flags)}\n`);
      return EXIT.ok;
    }
    return await command.run(io, parseFlags(command.name, rest, command.flags, command.positionals));
  } catch (err) {
    io.stderr(`pbk-agent: ${messageOf(err)}\n`);
    if (err instanceof UsageError && command?.usageExitCode !== undefined) return command.usageExitCode;
    return EXIT_FOR_CODE[codeOf(err)];
  }
}

function processIo(): CommandIo {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    readStdin: async () => {
      if (process.stdin.isTTY) process.stderr.write('pbk-agent: paste the enrollment token, then press Ctrl-D\n');
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    onStopSignal: (handler) => {
      process.on('SIGTERM', () => handler('SIGTERM'));
      process.on('SIGINT', () => handler('SIGINT'));
    },
    clock: systemClock,
  };
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main(processIo()).then(
    (code) => {
      process.exitCode = code;
      // Everything is closed by now; should a stray handle keep the process up, it still ends.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`pbk-agent: ${messageOf(err)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
