/**
 * A small command-line parser: `pbk-agent <command> [--flag VALUE] [--switch]`.
 * Flags are declared per command (commands/*.ts); unknown flags, missing values
 * and missing required flags are UsageErrors naming the flag.
 */
import { UsageError } from './errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Placeholder in help (`--state DIR`). */
  value?: string;
  description: string;
  required?: boolean;
}

export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

export function parseFlags(command: string, argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>, positionals: readonly string[] = []): FlagValues {
  const out: Record<string, string | boolean | undefined> = {};
  let nextPositional = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      // Commands PostgreSQL runs (wal-push %p, wal-fetch %f %p) take plain arguments, stored under their declared names.
      const pname = positionals[nextPositional++];
      if (pname === undefined) throw new UsageError(`pbk-agent ${command}: unexpected argument ${JSON.stringify(arg)}`);
      out[pname] = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) {
      throw new UsageError(`pbk-agent ${command}: unknown flag --${name}; known: ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
    }
    if (name in out) throw new UsageError(`pbk-agent ${command}: --${name} given twice`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`pbk-agent ${command}: --${name} takes no value`);
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    // "-" is a value (stdin), any other leading dash is a forgotten value.
    if (value === undefined || (value.startsWith('--') && eq < 0)) throw new UsageError(`pbk-agent ${command}: --${name} needs a value (${spec.value ?? 'VALUE'})`);
    out[name] = value;
  }
  if (nextPositional < positionals.length) {
    throw new UsageError(`pbk-agent ${command}: ${positionals.slice(nextPositional).map((p) => p.toUpperCase()).join(' ')} missing`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[name] === undefined) throw new UsageError(`pbk-agent ${command}: --${name} ${spec.value ?? 'VALUE'} is required`);
  }
  return out;
}

export function flagHelp(specs: Readonly<Record<string, FlagSpec>>): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const left = `  --${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
      return `${left.padEnd(28)} ${s.description}${s.required ? ' (required)' : ''}`;
    })
    .join('\n');
}
