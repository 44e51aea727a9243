/**
 * PostgreSQL's restore_command, the part shared by `pbk-agent wal-fetch` and
 * the light entry src/wal-fetch.ts (which recovery runs once per WAL file):
 * asks the agent daemon over its local socket for the WAL file and writes it
 * to %p through a temp name and a rename (recovery never sees half a file).
 * Imports node builtins only, so a run costs a bare node start.
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
import { join } from 'node:path';
import { isArchiveName } from '../postgres/wal/archive-name.js';
import { errorAnswer, LocalSocketError, rawLocalRequest } from './raw.js';

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
/** A usage error (bad or missing flags) of either wal-fetch entry. */
export const WAL_FETCH_USAGE_EXIT = 130;
const OTHER_FAILURE_EXIT = 129;

/** Tries while the coordinator (or the daemon) is unreachable, before stopping recovery: ~7 s in all. */
const RETRY_DELAYS_MS = [1000, 2000, 4000];

export interface WalFetchRequest {
  socket: string;
  /** HOST/NAME: whose WAL (the backup's host and PostgreSQL source name). */
  source: string;
  /** %f: the WAL file name. */
  file: string;
  /** %p: where recovery wants it. */
  target: string;
  /** A restore's spool (local-api/wal-spool.ts): a segment the daemon put there is renamed to %p, no request made. */
  spool?: string;
  stderr(text: string): void;
  sleep(ms: number): Promise<void>;
}

/** The exit code for recovery (see the module comment); every failure is explained on stderr. */
export async function walFetchExitCode(r: WalFetchRequest): Promise<number> {
  const fail = (code: string, message: string): number => {
    r.stderr(`pbk-agent: wal-fetch: ${message}\n`);
    return FATAL_EXIT[code] ?? OTHER_FAILURE_EXIT;
  };
  const m = /^([^/]+)\/([^/]+)$/.exec(r.source);
  if (!m) return fail('INVALID_ARGUMENT', `--source ${JSON.stringify(r.source)}: give HOST/NAME (the backup's host and PostgreSQL source name)`);
  if (!isArchiveName(r.file)) return fail('INVALID_ARGUMENT', `${JSON.stringify(r.file)} is not a WAL file name`);
  if (r.spool !== undefined) {
    try {
      await rename(join(r.spool, r.file), r.target);
      return 0;
    } catch {
      // Not spooled (yet): ask the daemon.
    }
  }
  const path = `/wal/${encodeURIComponent(m[1]!)}/${encodeURIComponent(m[2]!)}/${encodeURIComponent(r.file)}`;
  for (let attempt = 0; ; attempt++) {
    let code: string;
    let message: string;
    try {
      const res = await rawLocalRequest(r.socket, 'GET', path);
      if (res.status === 200) {
        const tmp = `${r.target}.pbk-fetch`;
        try {
          await writeFile(tmp, res.body, { mode: 0o600 });
          await rename(tmp, r.target);
        } catch (e) {
          await rm(tmp, { force: true });
          return fail('INTERNAL', `cannot write ${r.target}: ${(e as Error).message}`);
        }
        return 0;
      }
      if (res.status === 404) {
        r.stderr(`pbk-agent: wal-fetch: ${r.file} is not in the archive of ${m[1]}/${m[2]}\n`);
        return 1;
      }
      ({ code, message } = errorAnswer(res));
    } catch (e) {
      if (!(e instanceof LocalSocketError)) return fail('INTERNAL', (e as Error).message);
      ({ code, message } = e);
    }
    const retriable = code === 'UNAVAILABLE' || code === 'DEADLINE_EXCEEDED';
    if (!retriable || attempt >= RETRY_DELAYS_MS.length) return fail(code, `${r.file}: ${message}`);
    r.stderr(`pbk-agent: wal-fetch ${r.file}: ${message}; retrying\n`);
    await r.sleep(RETRY_DELAYS_MS[attempt]!);
  }
}
