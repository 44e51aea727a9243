/**
 * Where a base backup's tar archives come from: `pg_basebackup -D - -Ft
 * -X none` (the data directory as one tar on its stdout; the path for
 * clusters without tablespaces), or BASE_BACKUP over a replication
 * connection (one archive per tablespace, then the data directory's). Both
 * hand out archives whose members produceBaseBackup stores into one tree:
 * a tablespace's members under pg_tblspc/<oid>/.
 */
import { spawn } from 'node:child_process';
import type { PostgresSourceConfig } from '../config/postgres.js';
import { AgentError, messageOf } from '../errors.js';
import { startBaseBackup } from './base-backup-protocol.js';
import { childEnv, classifyFailure, connect, pgProgram, TailBuffer } from './connection.js';
import { TarFormatError } from './tar.js';

export interface SourceArchive {
  /** Prefix of the tree paths of this archive's members: '' or 'pg_tblspc/<oid>/'. */
  prefix: string;
  data: AsyncIterable<Uint8Array>;
  /** Members left out of the tree (by their name in the archive). */
  skip(name: string): boolean;
}

export interface SourceEnd {
  /** The end LSN when the source reports it beside the manifest (pg_basebackup's verbose line, BASE_BACKUP's last result). */
  stopLsn?: string;
  /** The backup manifest when it came beside the archives, not in them. */
  manifest?: Buffer;
  /** "oid path" lines for each tablespace streamed. */
  tablespaceMap?: string;
}

export interface BaseBackupSource {
  archives(): AsyncIterable<SourceArchive>;
  /** Waits for the source to end after the last archive; throws its failure. */
  finish(): Promise<SourceEnd>;
  /** Stops the source (the run was cancelled or failed on our side). */
  stop(): void;
  /** The error to report for a failure while reading the archives: the source's own reason when it has one. */
  failed(err: unknown): Promise<unknown>;
}

/** `pg_basebackup -D - -Ft -X none`: one archive, the data directory. */
export async function pgBasebackupSource(cfg: PostgresSourceConfig, label: string): Promise<BaseBackupSource> {
  const env = await childEnv(cfg.connection);
  const args = ['-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast', '-l', label, '--no-password', '-v'];
  if (cfg.baseMaxRateBytes !== undefined) args.push(`--max-rate=${Math.max(32, Math.floor(cfg.baseMaxRateBytes / 1024))}k`);
  const program = pgProgram(cfg, 'pg_basebackup');
  const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = new TailBuffer();
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(new AgentError('FAILED_PRECONDITION', `cannot run ${program}: ${e.message}; check binDir`, { cause: e })));
    child.on('close', (code) => resolve(code));
  });
  // Awaited later; until then a spawn failure must not count as an unhandled rejection.
  exited.catch(() => undefined);
  return {
    async *archives() {
      yield { prefix: '', data: child.stdout, skip: () => false };
    },
    async finish() {
      const code = await exited;
      if (code !== 0) throw classifyFailure('pg_basebackup', code, stderr.toString() || `exit ${code}`, cfg.connection, cfg.name);
      const stopLsn = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/.exec(stderr.toString())?.[1];
      return stopLsn !== undefined ? { stopLsn } : {};
    },
    stop() {
      child.kill('SIGTERM');
    },
    async failed(err) {
      if (err instanceof TarFormatError) {
        // The stream broke off: that is pg_basebackup's failure, and its stderr says why (server stopped, auth); the tar reader only saw the end.
        const code = await exited; // a program that could not even start says so here
        const why = stderr.toString();
        if (why.trim() !== '') return classifyFailure('pg_basebackup', code, why, cfg.connection, cfg.name);
        return err;
      }
      // Our side failed (the coordinator went away, a bad member), or pg_basebackup's exit was already classified: stop it and keep the error, so the run resumes or aborts by its code.
      child.kill('SIGTERM');
      await exited.catch(() => null);
      return err;
    },
  };
}

/** BASE_BACKUP over a physical replication connection: each tablespace's archive, then the data directory's. */
export async function protocolSource(cfg: PostgresSourceConfig, label: string): Promise<BaseBackupSource> {
  const client = await connect(cfg, undefined, { replication: true });
  const stream = startBaseBackup(client, { label, ...(cfg.baseMaxRateBytes !== undefined ? { maxRateKb: cfg.baseMaxRateBytes / 1024 } : {}) });
  const classify = (err: unknown): unknown =>
    err instanceof AgentError ? err : classifyFailure('BASE_BACKUP', null, `${messageOf(err)} ${(err as { code?: string }).code ?? ''}`, cfg.connection, cfg.name);
  const close = (): Promise<void> => client.end().catch(() => undefined);
  return {
    async *archives() {
      const streamed = new Set<string>();
      for await (const a of stream.archives()) {
        if (a.location === '' && a.name === 'base.tar') {
          // The data directory's pg_tblspc/<oid> entries are the symlinks to the tablespaces just streamed: their content replaces them.
          yield { prefix: '', data: a.data, skip: (n) => n.startsWith('pg_tblspc/') && streamed.has(n.slice('pg_tblspc/'.length)) };
          continue;
        }
        const oid = /^(\d+)\.tar$/.exec(a.name)?.[1];
        if (oid === undefined || !stream.tablespaces.some((t) => t.oid === oid)) {
          throw new AgentError('CORRUPT', `BASE_BACKUP sent an archive ${JSON.stringify(a.name)} (${a.location}) that is neither base.tar nor one of the tablespaces it listed`);
        }
        streamed.add(oid);
        yield { prefix: `pg_tblspc/${oid}/`, data: a.data, skip: () => false };
      }
    },
    async finish() {
      await close();
      if (stream.end === undefined) throw new AgentError('CORRUPT', 'BASE_BACKUP ended without its end position');
      return {
        stopLsn: stream.end.lsn,
        ...(stream.manifest !== undefined ? { manifest: stream.manifest } : {}),
        tablespaceMap: stream.tablespaces.map((t) => `${t.oid} ${t.location}\n`).join(''),
      };
    },
    stop() {
      stream.abort();
    },
    async failed(err) {
      stream.abort();
      await close();
      return classify(err);
    },
  };
}
