/**
 * The command line, on node:util parseArgs: `pbk [global options] <command
 * words> [options]`, global options allowed anywhere. Everything wrong with it
 * is a UsageError (exit 2), raised before any file is read or call is made.
 */
import { parseArgs } from 'node:util';
import { commandName, type Command, type OptionSpec, type OptionValues } from './commands/command.js';
import { UsageError } from './errors.js';
import { parseTime } from './time.js';

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec & { short?: string }>> = {
  coordinator: { type: 'string', value: 'HOST:PORT', description: 'coordinator gRPC address (default: $PBK_COORDINATOR)' },
  credentials: { type: 'string', value: 'DIR', description: 'directory with ca.pem, client.pem, client.key (default: $PBK_CREDENTIALS)' },
  json: { type: 'boolean', description: 'one JSON document on stdout, errors as JSON on stderr, no progress' },
  help: { type: 'boolean', short: 'h', description: 'show help for pbk or for the command' },
  version: { type: 'boolean', description: 'print the pbk version' },
};

export interface GlobalValues {
  coordinator: string | undefined;
  credentials: string | undefined;
  json: boolean;
}

export type ParsedCommandLine =
  /** Help on a topic: [] for pbk itself, ['backup'] for a group, a command's words. */
  | { kind: 'help'; topic: readonly string[] }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; values: OptionValues; global: GlobalValues };

type ParseArgsOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parseCommandLine(argv: readonly string[], commands: readonly Command[]): ParsedCommandLine {
  const all = allOptions(commands);
  const args = joinDashValues(argv, all);

  // A lenient first pass only to find the command words among the options.
  const loose = parseArgs({ args, options: all, strict: false, allowPositionals: true, tokens: true });
  const positionals = loose.tokens.filter((t) => t.kind === 'positional');
  const words = positionals.map((t) => t.value);
  const wantsHelp = loose.values.help === true;

  if (words[0] === 'help') {
    const topic = words.slice(1);
    resolveTopic(topic, commands);
    return { kind: 'help', topic };
  }
  if (words.length === 0) {
    if (wantsHelp) return { kind: 'help', topic: [] };
    if (loose.values.version === true) return { kind: 'version' };
    throw new UsageError("no command given: run 'pbk --help' for the list");
  }
  const command = [...commands].sort((a, b) => b.path.length - a.path.length).find((c) => c.path.every((w, i) => words[i] === w));
  if (command === undefined) {
    const group = commands.filter((c) => c.path[0] === words[0] && c.path.length > 1);
    if (group.length > 0 && words.length === 1) {
      if (wantsHelp) return { kind: 'help', topic: [words[0] ?? ''] };
      throw new UsageError(`'pbk ${words[0]}' needs a subcommand: ${group.map((c) => commandName(c)).join(', ')}`, words[0]);
    }
    if (group.length > 0) throw new UsageError(`unknown subcommand '${words.slice(0, 2).join(' ')}': use ${group.map((c) => commandName(c)).join(', ')}`, words[0]);
    throw new UsageError(`unknown command '${words[0]}': run 'pbk --help' for the list`);
  }
  if (wantsHelp) return { kind: 'help', topic: command.path };
  const name = commandName(command);
  const extra = words.slice(command.path.length);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}': pbk ${name} takes only options`, name);

  // The strict pass: this command's options and the global ones, nothing else.
  const skip = new Set(positionals.slice(0, command.path.length).map((t) => t.index));
  const rest = args.filter((_, i) => !skip.has(i));
  const options: ParseArgsOptions = { ...toParseArgs(GLOBAL_OPTIONS), ...toParseArgs(command.options) };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new UsageError(message.replace(/\. To specify a positional.*$/, ''), name);
  }
  for (const [key, spec] of Object.entries(command.options)) {
    const v = values[key];
    if (spec.required && v === undefined) throw new UsageError(`pbk ${name} needs --${key}${spec.value ? ` ${spec.value}` : ''}`, name);
    if (spec.type === 'string' && v === '') throw new UsageError(`--${key} must not be empty`, name);
  }
  return {
    kind: 'run',
    command,
    values,
    global: {
      coordinator: typeof values.coordinator === 'string' ? values.coordinator : undefined,
      credentials: typeof values.credentials === 'string' ? values.credentials : undefined,
      json: values.json === true,
    },
  };
}

/** The command or group a help topic names; throws for an unknown one. */
export function resolveTopic(topic: readonly string[], commands: readonly Command[]): Command | readonly Command[] | undefined {
  if (topic.length === 0) return undefined;
  const exact = commands.find((c) => c.path.length === topic.length && c.path.every((w, i) => topic[i] === w));
  if (exact) return exact;
  const group = commands.filter((c) => topic.every((w, i) => c.path[i] === w));
  if (topic.length === 1 && group.length > 0) return group;
  throw new UsageError(`no help on '${topic.join(' ')}': run 'pbk --help' for the list`);
}

/**
 * `--since -30m` reads naturally but parseArgs refuses a value starting with
 * '-' as ambiguous. A dash followed by a digit is never one of our flags, so
 * such a pair becomes `--since=-30m`.
 */
function joinDashValues(argv: readonly string[], options: ParseArgsOptions): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function allOptions(commands: readonly Command[]): ParseArgsOptions {
  const all: ParseArgsOptions = toParseArgs(GLOBAL_OPTIONS);
  for (const c of commands) Object.assign(all, toParseArgs(c.options));
  return all;
}

function toParseArgs(specs: Readonly<Record<string, OptionSpec & { short?: string }>>): ParseArgsOptions {
  const out: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  return out;
}

// --- typed access to parsed values; each failure names its flag -------------------

export function stringValue(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A flag the command declared `required` (parseCommandLine has checked it is there). */
export function requiredString(values: OptionValues, name: string): string {
  const v = stringValue(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export function flagValue(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function intValue(values: OptionValues, name: string, range: { min: number; max: number }): number | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max}, not ${JSON.stringify(v)}`);
  return n;
}

/** 0 to 100, "5" or "5%" or "2.5". */
export function percentValue(values: OptionValues, name: string): number | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  const n = /^\d+(\.\d+)?%?$/.test(v.trim()) ? Number(v.trim().replace(/%$/, '')) : Number.NaN;
  if (!(n >= 0 && n <= 100)) throw new UsageError(`--${name} must be a percentage from 0 to 100, not ${JSON.stringify(v)}`);
  return n;
}

export function timeValue(values: OptionValues, name: string, now: number): number | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  try {
    return parseTime(v, now);
  } catch (err) {
    throw new UsageError(`--${name}: ${(err as Error).message}`);
  }
}

export function choiceValue<T extends string>(values: OptionValues, name: string, choices: readonly T[]): T | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  const lower = v.toLowerCase();
  const found = choices.find((c) => c === lower);
  if (found === undefined) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(v)}`);
  return found;
}
