/**
 * What a command file declares (kopia's habit: one command per file): its
 * words, the role it needs, its flags with their help, and `run`. Flags are
 * parsed and required ones checked before `run`; `run` validates values and
 * only then connects, so a usage error never needs credentials.
 */
import type { Operator } from '../operator.js';
import type { Output } from '../output.js';

export type RequiredRole = 'auditor' | 'operator' | 'admin';

/** Who holds a role also holds the ones below it, as the coordinator checks them. */
export const ROLE_HOLDERS: Record<RequiredRole, string> = {
  auditor: 'auditor, operator or admin',
  operator: 'operator or admin',
  admin: 'admin',
};

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder in help (`--host HOST`). */
  value?: string;
  description: string;
  required?: boolean;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandContext {
  readonly out: Output;
  readonly now: () => number;
  /** Loads the credentials and connects, once; call it after validating flags. */
  operator(): Promise<Operator>;
}

export interface Command {
  /** The words that name it: ['backup', 'now']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly description: string;
  readonly role: RequiredRole;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  run(ctx: CommandContext, values: OptionValues): Promise<void>;
}

export function commandName(c: Pick<Command, 'path'>): string {
  return c.path.join(' ');
}
