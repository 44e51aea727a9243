import { checkConfigCommand } from './check-config.js';
import type { AgentCommand } from './command.js';
import { enrollCommand } from './enroll.js';
import { runCommand } from './run.js';

export const COMMANDS: readonly AgentCommand[] = [enrollCommand, runCommand, checkConfigCommand];
