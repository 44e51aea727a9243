/** Help text: `pbk --help`, `pbk help <command>`, `pbk <command> --help`. */
import { GLOBAL_OPTIONS } from './args.js';
import { commandName, ROLE_HOLDERS, type Command, type OptionSpec } from './commands/command.js';
import { CREDENTIAL_FILES } from './credentials.js';
import { TIME_FORMS } from './time.js';

export interface ExitCodeDoc {
  code: number;
  meaning: string;
}

export function generalHelp(commands: readonly Command[], exitCodes: readonly ExitCodeDoc[]): string {
  const width = Math.max(...commands.map((c) => commandName(c).length), 'help [COMMAND]'.length) + 2;
  const lines = [
    'pbk: the Privatus Backup command line. Talks to pbk-coordinator over mutual TLS.',
    '',
    'Usage: pbk [global options] <command> [options]',
    '',
    'Commands (role needed):',
    ...commands.map((c) => `  ${commandName(c).padEnd(width)}${`(${c.role})`.padEnd(12)}${c.summary}`),
    `  ${'help [COMMAND]'.padEnd(width)}${''.padEnd(12)}this text, or a command's`,
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Environment:',
    '  PBK_COORDINATOR   coordinator address, when --coordinator is not given',
    '  PBK_CREDENTIALS   credentials directory, when --credentials is not given',
    '',
    `Credentials: a directory with ${Object.values(CREDENTIAL_FILES).join(', ')} (what pbk-coordinator init writes);`,
    `${CREDENTIAL_FILES.key} must be mode 0600. Secrets are never taken from the command line.`,
    '',
    `TIME values: ${TIME_FORMS}.`,
    '',
    'Exit codes:',
    ...exitCodes.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`),
    '',
    "Run 'pbk help <command>' or 'pbk <command> --help' for a command's options.",
  ];
  return `${lines.join('\n')}\n`;
}

export function groupHelp(group: readonly Command[]): string {
  const width = Math.max(...group.map((c) => commandName(c).length)) + 2;
  const lines = [`Usage: pbk ${group[0]?.path[0] ?? ''} <subcommand> [options]`, '', 'Subcommands (role needed):'];
  for (const c of group) lines.push(`  ${commandName(c).padEnd(width)}${`(${c.role})`.padEnd(12)}${c.summary}`);
  lines.push('', `Run 'pbk help ${group[0]?.path[0] ?? ''} <subcommand>' for its options.`);
  return `${lines.join('\n')}\n`;
}

export function commandHelp(c: Command): string {
  const synopsis = Object.entries(c.options).map(([name, spec]) => {
    const flag = `--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return spec.required ? flag : `[${flag}]`;
  });
  const lines = [
    `Usage: pbk ${commandName(c)} ${synopsis.join(' ')}`.trimEnd(),
    '',
    c.description,
    '',
    `Role: ${c.role} (credentials of ${ROLE_HOLDERS[c.role]})`,
  ];
  if (Object.keys(c.options).length > 0) lines.push('', 'Options:', ...optionLines(c.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  if (c.examples.length > 0) lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

function optionLines(options: Readonly<Record<string, OptionSpec & { short?: string }>>): string[] {
  const flags = Object.entries(options).map(([name, spec]) => [`${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`, spec] as const);
  const width = Math.max(...flags.map(([f]) => f.length)) + 2;
  return flags.map(([f, spec]) => `  ${f.padEnd(width)}${spec.description}${spec.required ? ' (required)' : ''}`);
}
