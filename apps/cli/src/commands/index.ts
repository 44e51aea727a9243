/** Every `pbk` command, in the order help lists them. One file per command. */
import { backupNowCommand } from './backup-now.js';
import type { Command } from './command.js';
import { restoreFilesCommand } from './restore-files.js';
import { restorePostgresCommand } from './restore-postgres.js';
import { restorePostgresLogicalCommand } from './restore-postgres-logical.js';
import { snapshotsCommand } from './snapshots.js';
import { statusCommand } from './status.js';
import { restoreRedisCommand } from './restore-redis.js';
import { repoCompactCommand } from './repo-compact.js';
import { validateCommand } from './validate.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: readonly Command[] = [statusCommand, snapshotsCommand, backupNowCommand, restoreFilesCommand, restorePostgresCommand, restorePostgresLogicalCommand, restoreRedisCommand, verifyCommand, validateCommand, repoCompactCommand];
