#!/usr/bin/env node
/**
 * The restore_command a point-in-time restore writes (behind bin/wal-fetch.sh,
 * which answers the common cases with curl and runs this for the rest):
 *
 *   node .../dist/wal-fetch.js --socket PATH --source HOST/NAME %f %p
 *
 * the same as `pbk-agent wal-fetch` (commands/wal-fetch.ts), as an entry of
 * its own: recovery starts it once per WAL file, and loading the whole agent
 * CLI (gRPC, protocol, storage) cost ~0.4 CPU-s and up to ~1 s per file on a
 * busy 2-core host; this loads node builtins only (~0.05 s). Exit codes: see
 * local-api/wal-fetch.ts (0 written, 1 not in the archive, >125 otherwise).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LOCAL_SOCKET } from './local-api/raw.js';
import { WAL_FETCH_USAGE_EXIT as USAGE_EXIT, walFetchExitCode } from './local-api/wal-fetch.js';

const USAGE = 'usage: wal-fetch.js --source HOST/NAME [--socket PATH] [--spool DIR] WAL_NAME TARGET_PATH\n';

export async function walFetchMain(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, stderr: (t: string) => void): Promise<number> {
  const flags: Record<string, string> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(socket|source|spool)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) {
        stderr(`pbk-agent: wal-fetch: --${m[1]} needs a value\n${USAGE}`);
        return USAGE_EXIT;
      }
      flags[m[1]!] = value;
    } else if (a.startsWith('--')) {
      stderr(`pbk-agent: wal-fetch: unknown flag ${a}\n${USAGE}`);
      return USAGE_EXIT;
    } else positionals.push(a);
  }
  if (flags.source === undefined || positionals.length !== 2) {
    stderr(USAGE);
    return USAGE_EXIT;
  }
  return walFetchExitCode({
    socket: flags.socket ?? env.PBK_AGENT_SOCKET ?? DEFAULT_LOCAL_SOCKET,
    source: flags.source,
    file: positionals[0]!,
    target: positionals[1]!,
    ...(flags.spool !== undefined ? { spool: flags.spool } : {}),
    stderr,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
}

function isEntry(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  walFetchMain(process.argv.slice(2), process.env, (t) => process.stderr.write(t)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pbk-agent: wal-fetch: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 129;
    },
  );
}
