import { checkConfigCommand } from './check-config.js';
import type { AgentCommand } from './command.js';
import { enrollCommand } from './enroll.js';
import { runCommand } from './run.js';
import { walFetchCommand } from './wal-fetch.js';
import { walPushCommand } from './wal-push.js';

export const COMMANDS: readonly AgentCommand[] = [enrollCommand, runCommand, checkConfigCommand, walPushCommand, walFetchCommand];
