/**
 * `pbk-agent wal-fetch --source HOST/NAME [--socket PATH] %f %p`: PostgreSQL's
 * restore_command during point-in-time recovery (local-api/wal-fetch.ts has
 * the work and the exit codes). A restore writes the light entry
 * `node .../wal-fetch.js` instead, which does the same without loading the
 * whole agent for every WAL file.
 */
import { sleep } from '../clock.js';
import { DEFAULT_LOCAL_SOCKET } from '../local-api/client.js';
import { WAL_FETCH_USAGE_EXIT, walFetchExitCode } from '../local-api/wal-fetch.js';
import type { AgentCommand } from './command.js';

export const walFetchCommand: AgentCommand = {
  name: 'wal-fetch',
  summary: "fetch one WAL file through the running agent (PostgreSQL's restore_command: pbk-agent wal-fetch --source HOST/NAME %f %p)",
  usage: 'pbk-agent wal-fetch --source HOST/NAME [--socket PATH] [--spool DIR] WAL_NAME TARGET_PATH',
  flags: {
    source: { type: 'string', value: 'HOST/NAME', description: 'whose WAL: the host and PostgreSQL source name of the backup', required: true },
    socket: { type: 'string', value: 'PATH', description: `the agent's localSocket (default ${DEFAULT_LOCAL_SOCKET})` },
    spool: { type: 'string', value: 'DIR', description: 'a restore\'s WAL spool: a segment the agent put there is renamed into place' },
  },
  positionals: ['file', 'path'],
  usageExitCode: WAL_FETCH_USAGE_EXIT,
  run(io, flags) {
    return walFetchExitCode({
      socket: typeof flags.socket === 'string' ? flags.socket : (io.env.PBK_AGENT_SOCKET ?? DEFAULT_LOCAL_SOCKET),
      source: String(flags.source),
      file: String(flags.file),
      target: String(flags.path),
      ...(typeof flags.spool === 'string' ? { spool: flags.spool } : {}),
      stderr: (t) => io.stderr(t),
      sleep: (ms) => sleep(io.clock, ms),
    });
  },
};
