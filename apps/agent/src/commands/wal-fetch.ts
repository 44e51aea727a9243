/**
 * `pbk-agent wal-fetch --source HOST/NAME [--socket PATH] %f %p`: PostgreSQL's
 * restore_command during point-in-time recovery. Asks the agent daemon over
 * its local socket for the WAL file, writes it to %p through a temp name and
 * a rename (recovery never sees half a file).
 *
 * Exit codes are what recovery needs: 0 = here it is; 1 = the archive has no
 * such file (recovery ends cleanly at the end of the archive). Every other
 * failure exits ABOVE 125 (128 + pbk-agent's usual code: 134 the stored file
 * is damaged, 133 coordinator unreachable after retries, 132 not allowed,
 * 130 usage, 129 other): PostgreSQL takes any exit status up to 125 as "no
 * such file" and would end recovery there and promote, silently dropping the
 * rest of the WAL; above 125 it aborts recovery (FATAL) with our message on
 * stderr, in its log.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { sleep } from '../clock.js';
import type { FlagValues } from '../args.js';
import { AgentError, codeOf, messageOf } from '../errors.js';
import { DEFAULT_LOCAL_SOCKET, errorOf, localRequest } from '../local-api/client.js';
import { isArchiveName } from '../postgres/wal/names.js';
import type { AgentCommand, CommandIo } from './command.js';

/** 128 + the pbk-agent exit code of main.ts (EXIT_FOR_CODE), so PostgreSQL aborts recovery rather than ending it. */
const FATAL_EXIT: Partial<Record<string, number>> = {
  CORRUPT: 134,
  INTEGRITY: 134,
  WRONG_KEY: 134,
  UNAVAILABLE: 133,
  DEADLINE_EXCEEDED: 133,
  PERMISSION_DENIED: 132,
  UNAUTHENTICATED: 132,
  INVALID_ARGUMENT: 130,
};

/** Tries while the coordinator (or the daemon) is unreachable, before stopping recovery: ~7 s in all. */
const RETRY_DELAYS_MS = [1000, 2000, 4000];

export const walFetchCommand: AgentCommand = {
  name: 'wal-fetch',
  summary: "fetch one WAL file through the running agent (PostgreSQL's restore_command: pbk-agent wal-fetch --source HOST/NAME %f %p)",
  usage: 'pbk-agent wal-fetch --source HOST/NAME [--socket PATH] WAL_NAME TARGET_PATH',
  flags: {
    source: { type: 'string', value: 'HOST/NAME', description: 'whose WAL: the host and PostgreSQL source name of the backup', required: true },
    socket: { type: 'string', value: 'PATH', description: `the agent's localSocket (default ${DEFAULT_LOCAL_SOCKET})` },
  },
  positionals: ['file', 'path'],
  async run(io, flags) {
    try {
      return await fetchOnce(io, flags);
    } catch (err) {
      io.stderr(`pbk-agent: wal-fetch: ${messageOf(err)}\n`);
      return FATAL_EXIT[codeOf(err)] ?? 129;
    }
  },
};

async function fetchOnce(io: CommandIo, flags: FlagValues): Promise<number> {
  const file = String(flags.file);
  const target = String(flags.path);
  const m = /^([^/]+)\/([^/]+)$/.exec(String(flags.source));
  if (!m) throw new AgentError('INVALID_ARGUMENT', `--source ${JSON.stringify(flags.source)}: give HOST/NAME (the backup's host and PostgreSQL source name)`);
  if (!isArchiveName(file)) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(file)} is not a WAL file name`);
  const socket = typeof flags.socket === 'string' ? flags.socket : (io.env.PBK_AGENT_SOCKET ?? DEFAULT_LOCAL_SOCKET);
  const path = `/wal/${encodeURIComponent(m[1]!)}/${encodeURIComponent(m[2]!)}/${encodeURIComponent(file)}`;
  for (let attempt = 0; ; attempt++) {
    let err: AgentError;
    try {
      const res = await localRequest(socket, 'GET', path);
      if (res.status === 200) {
        const tmp = `${target}.pbk-fetch`;
        try {
          await writeFile(tmp, res.body, { mode: 0o600 });
          await rename(tmp, target);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
        return 0;
      }
      if (res.status === 404) {
        io.stderr(`pbk-agent: wal-fetch: ${file} is not in the archive of ${m[1]}/${m[2]}\n`);
        return 1;
      }
      err = errorOf(res, `wal-fetch ${file}`);
    } catch (e) {
      if (!(e instanceof AgentError)) throw e;
      err = e;
    }
    const code = codeOf(err);
    const retriable = code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED';
    if (!retriable || attempt >= RETRY_DELAYS_MS.length) throw err;
    io.stderr(`pbk-agent: wal-fetch ${file}: ${err.message}; retrying\n`);
    await sleep(io.clock, RETRY_DELAYS_MS[attempt]!);
  }
}
