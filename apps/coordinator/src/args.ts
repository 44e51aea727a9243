/**
 * A small, strict flag parser for the subcommands: `--name value` or
 * `--name=value`, repeatable flags collected in order, no positionals, and
 * every unknown or incomplete flag a UsageError. No secret is ever taken from
 * the command line (argv is visible in `ps`): keys live in files under --data.
 */
import { UsageError } from './errors.js';

export interface FlagSpec {
  /** What the value is, for the usage line (e.g. "DIR", "HOST:PORT"). */
  value: string;
  required?: boolean;
  /** May be given more than once; the values are collected in order. */
  repeat?: boolean;
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['repeat'] extends true ? string[] : S[K]['required'] extends true ? string : string | undefined;
};

export function parseFlags<S extends FlagSpecs>(command: string, specs: S, argv: readonly string[]): ParsedFlags<S> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.repeat ? [] : undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(arg)} (every option is a --flag)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`${command}: unknown option --${name}; options: ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${command}: --${name} needs a value (${spec.value})`);
      i++;
    }
    if (value === '') throw new UsageError(`${command}: --${name} needs a non-empty value (${spec.value})`);
    if (spec.repeat) (out[name] as string[]).push(value);
    else if (out[name] !== undefined) throw new UsageError(`${command}: --${name} given twice`);
    else out[name] = value;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[name] === undefined) throw new UsageError(`${command}: --${name} ${spec.value} is required`);
  }
  return out as ParsedFlags<S>;
}

export function usageOf(command: string, summary: string, specs: FlagSpecs): string {
  const lines = Object.entries(specs).map(([name, s]) => {
    const flag = `--${name} ${s.value}${s.repeat ? ' ...' : ''}`;
    return `  ${flag.padEnd(28)} ${s.help}${s.required ? ' (required)' : ''}`;
  });
  return `pbk-coordinator ${command}: ${summary}\n\n${lines.join('\n')}\n`;
}

/** Parses HOST:PORT or [IPv6]:PORT; port 0 asks the OS for a free port. */
export function parseHostPort(what: string, value: string): { host: string; port: number; address: string } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${what} ${JSON.stringify(value)} is not HOST:PORT (e.g. 127.0.0.1:7443, [::1]:7443, 0.0.0.0:0 for any free port)`);
  }
  return { host, port, address: formatHostPort(host, port) };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h", "2d", "1h30m" -> milliseconds. */
export function parseDuration(what: string, value: string): number {
  const re = /(\d+)([smhd])/g;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== value.length || consumed === 0 || total <= 0) {
    throw new UsageError(`${what} ${JSON.stringify(value)} is not a duration: use e.g. 90s, 15m, 1h, 2d or 1h30m`);
  }
  return total;
}
