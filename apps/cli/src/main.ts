#!/usr/bin/env node
/**
 * pbk: the SRE's command line for Privatus Backup (a gRPC client of the
 * coordinator's OperatorService over mutual TLS).
 *
 * This file is the edge: it parses the command line (args.ts), runs one
 * command from commands/ (one file each, each declaring its role), prints
 * errors, and is the only place that turns errors into exit codes
 * (EXIT_FOR_PBK_CODE and exitCodeFor below; the table is in README.md and
 * `pbk --help`).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isErrorCode, ProtocolError, RemoteError, type ErrorCode } from '@pbk/protocol';
import { parseCommandLine, resolveTopic } from './args.js';
import { commandName, ROLE_HOLDERS, type Command, type CommandContext } from './commands/command.js';
import { COMMANDS } from './commands/index.js';
import { parseAddress } from './connection.js';
import { loadCredentials } from './credentials.js';
import { CommandError, CredentialsError, InterruptedError, UsageError, VerifyProblemsError, type CliCode } from './errors.js';
import { commandHelp, generalHelp, groupHelp, type ExitCodeDoc } from './help.js';
import { connectOperator, type Operator } from './operator.js';
import { Output, type Io } from './output.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  unavailable: 5,
  integrity: 6,
  verifyProblems: 7,
  precondition: 8,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Every pbk code to its exit code. A Record over ErrorCode: a code added to
 * the protocol does not compile until it is placed here.
 */
export const EXIT_FOR_PBK_CODE: Readonly<Record<ErrorCode, ExitCode>> = {
  INVALID_ARGUMENT: EXIT.usage, // the coordinator refused the request as given: fix the command line
  NOT_FOUND: EXIT.notFound,
  PERMISSION_DENIED: EXIT.auth,
  UNAUTHENTICATED: EXIT.auth,
  UNAVAILABLE: EXIT.unavailable,
  DEADLINE_EXCEEDED: EXIT.unavailable, // no answer in time: as good as unreachable, and as worth retrying
  CORRUPT: EXIT.integrity,
  INTEGRITY: EXIT.integrity,
  WRONG_KEY: EXIT.integrity,
  FAILED_PRECONDITION: EXIT.precondition,
  ALREADY_EXISTS: EXIT.precondition, // e.g. a run of that source already in progress: the state forbids it
  INTERNAL: EXIT.failure,
  NO_SPACE: EXIT.failure,
  RESOURCE_EXHAUSTED: EXIT.failure,
  CANCELLED: EXIT.failure, // cancelled by someone else (the coordinator, an agent); our own Ctrl-C is 130
};

/** The exit-code table as `pbk --help` and README.md show it. */
export const EXIT_CODE_DOCS: readonly ExitCodeDoc[] = [
  { code: EXIT.ok, meaning: 'ok' },
  { code: EXIT.failure, meaning: 'general failure (INTERNAL, NO_SPACE, RESOURCE_EXHAUSTED, CANCELLED by the coordinator, anything unexpected)' },
  { code: EXIT.usage, meaning: 'usage error: unknown command or flag, bad value, missing --coordinator/--credentials (and INVALID_ARGUMENT)' },
  { code: EXIT.notFound, meaning: 'not found: host, source or snapshot (NOT_FOUND)' },
  { code: EXIT.auth, meaning: 'permission or authentication: role lacks the right, certificate refused or untrusted (wrong CA), credentials unusable or key not 0600 (PERMISSION_DENIED, UNAUTHENTICATED)' },
  { code: EXIT.unavailable, meaning: 'unavailable: coordinator unreachable or not answering in time (UNAVAILABLE, DEADLINE_EXCEEDED)' },
  { code: EXIT.integrity, meaning: 'data integrity problem (CORRUPT, INTEGRITY, WRONG_KEY)' },
  { code: EXIT.verifyProblems, meaning: 'verify ran and found problems (the report lists them)' },
  { code: EXIT.precondition, meaning: 'precondition failed, e.g. non-empty restore target without --force (FAILED_PRECONDITION, ALREADY_EXISTS)' },
  { code: EXIT.interrupted, meaning: 'interrupted (Ctrl-C); the call in flight was cancelled' },
];

/** The one mapping from a failure to an exit code. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof CredentialsError) return EXIT.auth;
  if (err instanceof VerifyProblemsError) return EXIT.verifyProblems;
  const code = pbkCodeOf(err);
  return code === undefined ? EXIT.failure : EXIT_FOR_PBK_CODE[code];
}

/** The pbk code of a RemoteError, ProtocolError, CommandError, or anything carrying one. */
function pbkCodeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof RemoteError || err instanceof ProtocolError || err instanceof CommandError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : undefined;
}

/** The code a `--json` error carries: the pbk code, or the CLI's own for local failures. */
function jsonCodeOf(err: unknown): ErrorCode | CliCode {
  if (err instanceof InterruptedError || err instanceof UsageError || err instanceof CredentialsError || err instanceof VerifyProblemsError) return err.code;
  return pbkCodeOf(err) ?? 'INTERNAL';
}

export const VERSION: string = readVersion();

/** Runs one command line; returns the exit code. Everything the process provides comes in `io`. */
export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  // Known before parsing, so that even a usage error comes out as JSON.
  let json = argv.includes('--json');
  let command: Command | undefined;
  let operator: Operator | undefined;
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    if (parsed.kind === 'version') {
      io.stdout(`pbk ${VERSION}\n`);
      return EXIT.ok;
    }
    if (parsed.kind === 'help') {
      io.stdout(helpText(parsed.topic));
      return EXIT.ok;
    }
    command = parsed.command;
    json = parsed.global.json;
    const { global } = parsed;
    const name = commandName(command);
    const ctx: CommandContext = {
      out: new Output(io, json),
      now: () => io.now(),
      async operator() {
        if (operator !== undefined) return operator;
        const addressText = global.coordinator ?? (io.env.PBK_COORDINATOR || undefined);
        if (addressText === undefined) throw new UsageError('no coordinator address: pass --coordinator HOST:PORT or set PBK_COORDINATOR', name);
        const address = parseAddress(addressText);
        const dir = global.credentials ?? (io.env.PBK_CREDENTIALS || undefined);
        if (dir === undefined) throw new UsageError('no credentials: pass --credentials DIR or set PBK_CREDENTIALS (the directory pbk-coordinator init wrote)', name);
        const credentials = await loadCredentials(dir, io.now());
        if (io.signal.aborted) throw new InterruptedError();
        operator = connectOperator({ address, credentials, signal: io.signal });
        return operator;
      },
    };
    await command.run(ctx, parsed.values);
    return EXIT.ok;
  } catch (err) {
    // A Ctrl-C that lands while a failure is being diagnosed is still an interruption.
    const failure = io.signal.aborted && !(err instanceof UsageError) ? new InterruptedError() : err;
    printError(io, json, failure, command);
    return exitCodeFor(failure);
  } finally {
    operator?.close();
  }
}

function helpText(topic: readonly string[]): string {
  const target = resolveTopic(topic, COMMANDS);
  if (target === undefined) return generalHelp(COMMANDS, EXIT_CODE_DOCS);
  return Array.isArray(target) ? groupHelp(target as readonly Command[]) : commandHelp(target as Command);
}

function printError(io: Io, json: boolean, err: unknown, command: Command | undefined): void {
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    io.stderr(`${JSON.stringify({ error: { code: jsonCodeOf(err), message } })}\n`);
    return;
  }
  const lines = [`pbk: ${err instanceof InterruptedError ? 'interrupted' : `error: ${message}`}`];
  if (err instanceof UsageError) {
    const name = err.command ?? (command ? commandName(command) : undefined);
    lines.push(name ? `Run 'pbk ${name} --help' for its usage.` : "Run 'pbk --help' for usage.");
  } else if (pbkCodeOf(err) === 'PERMISSION_DENIED' && command) {
    lines.push(`pbk ${commandName(command)} needs the ${command.role} role (credentials of ${ROLE_HOLDERS[command.role]}).`);
  } else if (exitCodeFor(err) === EXIT.failure && !(err instanceof RemoteError) && !(err instanceof CommandError) && err instanceof Error && err.stack) {
    // Not one of our typed failures: a bug. The stack is what its report needs.
    lines.push(err.stack);
  }
  io.stderr(`${lines.join('\n')}\n`);
}

function readVersion(): string {
  try {
    // ../package.json from src/ and from dist/ alike.
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** True when this file is the process's script (also through the npm bin symlink), not when a test imports it. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  // grpc-js sets the TLS servername to the IP it dials, which Node flags with a
  // deprecation warning (DEP0123). Drop that one: stderr belongs to our errors
  // (one JSON document under --json); print any other warning as Node would.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== 'DEP0123') process.stderr.write(`(node) ${w.name}: ${w.message}\n`);
  });
  const controller = new AbortController();
  process.on('SIGINT', () => {
    // A second Ctrl-C does not wait for the cancellation to be acknowledged.
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  });
  // `pbk snapshots | head` closes our stdout early: not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    throw err;
  });
  const code = await run(process.argv.slice(2), {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stdoutIsTTY: process.stdout.isTTY === true,
    // A pty without a size (script, some CI runners) reports 0 columns.
    columns: () => process.stderr.columns || 80,
    env: process.env,
    now: () => Date.now(),
    signal: controller.signal,
  });
  process.exitCode = code;
  // A closed grpc-js channel may keep a handle for a moment; never let it hold a finished command.
  setTimeout(() => process.exit(code), 2000).unref();
}

if (isEntryPoint()) void main();
