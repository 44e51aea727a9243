/**
 * `pbk-agent wal-push [--source NAME] [--socket PATH] %p`: PostgreSQL's
 * archive_command fallback. Hands the WAL file to the agent daemon over its
 * local socket; the daemon uploads it to the source's WAL run. Idempotent:
 * the same file twice succeeds; different content under a name the
 * coordinator already holds complete fails (exit 6), so PostgreSQL keeps the
 * file and retries, and nothing stored is overwritten.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { AgentError } from '../errors.js';
import { DEFAULT_LOCAL_SOCKET, errorOf, localRequest } from '../local-api/client.js';
import { isArchiveName } from '../postgres/wal/names.js';
import type { AgentCommand } from './command.js';

export const walPushCommand: AgentCommand = {
  name: 'wal-push',
  summary: "archive one WAL file through the running agent (PostgreSQL's archive_command: pbk-agent wal-push %p)",
  usage: 'pbk-agent wal-push [--source NAME] [--socket PATH] WAL_PATH',
  flags: {
    source: { type: 'string', value: 'NAME', description: 'the PostgreSQL source in the agent config (default: the only one)' },
    socket: { type: 'string', value: 'PATH', description: `the agent's localSocket (default ${DEFAULT_LOCAL_SOCKET})` },
  },
  positionals: ['path'],
  async run(io, flags) {
    const path = String(flags.path);
    const name = basename(path);
    if (!isArchiveName(name)) throw new AgentError('INVALID_ARGUMENT', `${JSON.stringify(name)} is not a WAL file name (archive_command passes %p, a path under pg_wal)`);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      throw new AgentError('NOT_FOUND', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    const socket = typeof flags.socket === 'string' ? flags.socket : (io.env.PBK_AGENT_SOCKET ?? DEFAULT_LOCAL_SOCKET);
    const source = typeof flags.source === 'string' ? flags.source : '_';
    const res = await localRequest(socket, 'PUT', `/wal/${encodeURIComponent(source)}/${encodeURIComponent(name)}`, data);
    if (res.status !== 200) throw errorOf(res, `wal-push ${name}`);
    const { alreadyHad } = JSON.parse(res.body.toString('utf8')) as { alreadyHad: boolean };
    if (alreadyHad) io.stderr(`pbk-agent: ${name} was already archived with the same content\n`);
    return 0;
  },
};
