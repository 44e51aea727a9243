#!/usr/bin/env -S node --initial-old-space-size=128
/**
 * pbk-coordinator: one entry point, one subcommand per file in commands/.
 *
 *   init   --data DIR [--san NAME...] [--region NAME]
 *   serve  --data DIR [--listen HOST:PORT] [--enroll-listen HOST:PORT] [--http HOST:PORT]
 *   token  --data DIR --host NAME [--ttl 1h] [--enroll-port N]
 *
 * Exit codes: 0 ok, 1 failure (the message says why), 2 usage error.
 * Logs are pino JSON lines on stdout (level from PBK_LOG_LEVEL, default info);
 * `token` prints the token alone on stdout and logs nothing there.
 *
 * The shebang starts V8 with a 128 MiB old generation before its first full
 * collection (docs/agent-coordinator.md, "Node.js heap"): with its default, the few
 * promoted buffers of a busy upload kept the heap at its limit and V8 ran a full
 * collection about every 100 ms (bench/RESULTS.md, session 8). Start the daemon
 * through the shebang (its bin, the systemd unit), or pass the same flag to node.
 */
import { isErrorCode } from '@pbk/protocol';
import { runInit, INIT_USAGE } from './commands/init.js';
import { runServe, SERVE_USAGE } from './commands/serve.js';
import { runToken, TOKEN_USAGE } from './commands/token.js';
import { UsageError } from './errors.js';
import { createLogger } from './logging.js';

const USAGE = `usage: pbk-coordinator <command> [options]

commands:
  init    create a data directory (CA, certificates, keys, catalog, repository)
  serve   run the coordinator
  token   print a one-time enrollment token for an agent

'pbk-coordinator <command> --help' shows a command's options.
`;

const USAGES: Record<string, string> = { init: INIT_USAGE, serve: SERVE_USAGE, token: TOKEN_USAGE };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const usage = USAGES[command];
    if (usage === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    process.stdout.write(usage);
    return 0;
  }
  const now = (): Date => new Date();
  switch (command) {
    case 'init': {
      const logger = createLogger(process.env.PBK_LOG_LEVEL ?? 'warn');
      const r = await runInit(rest, process.env, logger.child({ component: 'init' }), now);
      process.stdout.write(
        `initialized ${r.dir}\n` +
          `  CA fingerprint (SHA-256): ${r.caFingerprint}\n` +
          `  catalog: ${r.catalog}\n` +
          `  repository: ${r.repositoryId}\n` +
          `  admin credentials: ${r.dir}/admin (PBK_CREDENTIALS)\n` +
          `  keep a copy of ${r.dir}/kek.key somewhere safe: without it no backup can be read\n`,
      );
      return 0;
    }
    case 'serve':
      await runServe(rest, process.env, createLogger(process.env.PBK_LOG_LEVEL ?? 'info'));
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    case 'token':
      process.stdout.write((await runToken(rest, now)) + '\n');
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`pbk-coordinator: ${err.message}\n`);
      process.exit(2);
    }
    const code = (err as { code?: unknown })?.code;
    const prefix = isErrorCode(code) ? `${code}: ` : '';
    process.stderr.write(`pbk-coordinator: ${prefix}${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.PBK_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
