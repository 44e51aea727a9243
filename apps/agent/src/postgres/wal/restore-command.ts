/**
 * The `restore_command` a point-in-time restore writes into the restored
 * cluster's configuration: PostgreSQL runs it (through /bin/sh, as its own OS
 * user) for every WAL file recovery wants; `pbk-agent wal-fetch` asks the
 * local agent daemon over its socket, which fetches the file from the
 * coordinator (docs/postgres.md, "WAL streaming").
 */

export interface RestoreCommandOptions {
  /** The agent daemon's local socket (config `localSocket`). */
  socketPath: string;
  /** Host and source name whose WAL is replayed (the snapshot's, which may be another host's). */
  host: string;
  source: string;
  /** The pbk-agent program: a path, or argv words (e.g. [node, /path/main.js]). */
  agentBin: string | readonly string[];
  /**
   * The light wal-fetch entry (argv words, e.g. [node, /path/dist/wal-fetch.js], or
   * [/bin/sh, /path/bin/wal-fetch.sh, node, /path/dist/wal-fetch.js]): used instead of
   * `agentBin wal-fetch` when given; recovery starts it once per WAL file.
   */
  walFetchBin?: readonly string[];
  /** A restore's WAL spool directory (local-api/wal-spool.ts), checked before the daemon is asked. */
  spoolDir?: string;
}

/** POSIX shell single-quoting: safe for any byte except NUL. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The shell command for restore_command (%f and %p are left for PostgreSQL to substitute). */
export function restoreCommandFor(o: RestoreCommandOptions): string {
  const bin = o.walFetchBin !== undefined ? [...o.walFetchBin] : [...(typeof o.agentBin === 'string' ? [o.agentBin] : o.agentBin), 'wal-fetch'];
  const spool = o.spoolDir !== undefined ? ['--spool', shellQuote(o.spoolDir)] : [];
  return [...bin.map(shellQuote), '--socket', shellQuote(o.socketPath), '--source', shellQuote(`${o.host}/${o.source}`), ...spool, '%f', '%p'].join(' ');
}

/** A `restore_command = '...'` line for postgresql.auto.conf / postgresql.conf (GUC string quoting: ' doubled). */
export function restoreCommandSetting(o: RestoreCommandOptions): string {
  return `restore_command = '${restoreCommandFor(o).replace(/'/g, "''")}'`;
}

/** The archive_command fallback for a source: `pbk-agent wal-push --source NAME %p`. */
export function archiveCommandFor(o: Omit<RestoreCommandOptions, 'host'>): string {
  const bin = typeof o.agentBin === 'string' ? [o.agentBin] : [...o.agentBin];
  return [...bin.map(shellQuote), 'wal-push', '--socket', shellQuote(o.socketPath), '--source', shellQuote(o.source), '%p'].join(' ');
}
