/**
 * PostgreSQL WAL on the coordinator: the WAL run (BeginBackup wal_stream),
 * PutWal, ListWal, GetWal (agent.proto; docs/postgres.md, "WAL streaming").
 *
 * WAL bytes arrive as ordinary data blobs of the source's WAL run (UploadBlobs);
 * PutWal then records which blobs make up a file, after checking each one is
 * durable in the repository (as CommitBackup does for a tree), so an answered
 * PutWal means the WAL is safe. A complete file is also written to the
 * repository as a WAL manifest before the answer (docs/repository-format.md,
 * "WAL manifests"); a growing one only to the catalog, as it changes many
 * times a second. What may replace a recorded file:
 *   - the same size and SHA-256: already_had (a retry, wal-push twice);
 *   - a complete file, different content: INTEGRITY (a second writer, or a
 *     forked timeline reusing the name) - never overwritten;
 *   - a growing file: only by more bytes (size never shrinks; at equal size
 *     the SHA-256 must match). The agent re-reads the prefix from its spool,
 *     so it is the same bytes; the coordinator does not decrypt to compare.
 */
import type { Writable } from 'node:stream';
import { writeMessage, type v1 } from '@pbk/protocol';
import { saveWalManifest, type SourceRef } from '@pbk/storage';
import { actorOf, type AgentIdentity } from '../auth.js';
import { isWalFileName, type WalFileRecord } from '../catalog/index.js';
import type { ServiceContext } from '../context.js';
import { blobId, count, kindFromWire, runIdFromWire, sourceLabel } from '../convert.js';
import { CoordinatorError } from '../errors.js';
import { serverStream, unary } from '../handlers.js';
import { sendBlobs } from '../blob-download.js';
import type { OpenRun } from '../runs.js';
import { Mutex } from '../util/mutex.js';

type WalHandlers = Pick<v1.AgentServiceHandlers, 'PutWal' | 'ListWal' | 'GetWal'>;

/** A WAL file is at most one segment (wal_segment_size is at most 1 GiB). */
const MAX_WAL_FILE_BYTES = 1024 * 1024 * 1024;
/** Content ids per PutWal: a 1 GiB segment in 64 KiB pieces, with room to spare. */
const MAX_WAL_CONTENT_IDS = 32_768;

export function walFileToWire(r: WalFileRecord): v1.WalFile {
  return { fileName: r.fileName, size: String(r.size), complete: r.complete, updatedUnixMs: String(r.updatedAt.getTime()), sha256: Buffer.from(r.sha256, 'hex') };
}

/**
 * BeginBackup with wal_stream: the source's one running WAL run, or a new one.
 * Reusing it keeps one DEK per source's WAL stream and lets an agent that lost
 * its state (reinstalled, restarted) carry on without a resume id.
 */
export async function beginWalRun(ctx: ServiceContext, who: AgentIdentity, source: SourceRef): Promise<OpenRun> {
  if (source.kind !== 'postgres') {
    throw new CoordinatorError('INVALID_ARGUMENT', `wal_stream is for PostgreSQL sources; ${sourceLabel(source)} is a ${source.kind} source`);
  }
  const existing = await ctx.catalog.runs.runningWal(source);
  if (existing !== undefined) {
    const run = await ctx.runs.get(who.host, existing.id);
    await ctx.catalog.runs.markResumed(run.id);
    await ctx.auditor.record({ actor: actorOf(who), action: 'key.unwrap', target: run.dek.id.toString('hex'), details: { run: run.id, purpose: 'wal' } });
    ctx.logger.info({ run: run.id, source: sourceLabel(source) }, 'WAL run resumed');
    return run;
  }
  const dek = await ctx.repo.keys.newDek();
  const row = await ctx.catalog.runs.begin({ source, mode: 'full', dekId: dek.id.toString('hex'), walStream: true });
  await ctx.auditor.record({ actor: actorOf(who), action: 'key.create', target: dek.id.toString('hex'), details: { run: row.id, source: sourceLabel(source), purpose: 'wal' } });
  ctx.logger.info({ run: row.id, source: sourceLabel(source) }, 'WAL run begun');
  return ctx.runs.add(row, dek, undefined);
}

export function walHandlers(ctx: ServiceContext): WalHandlers {
  const { catalog, repo, store, runs, grants, auth, auditor, config, metrics } = ctx;
  const log = ctx.logger;
  /** One PutWal at a time per source: the streamer and wal-push may race on one name. */
  const locks = new Map<string, Mutex>();
  const lockOf = (key: string): Mutex => {
    let m = locks.get(key);
    if (m === undefined) locks.set(key, (m = new Mutex()));
    return m;
  };

  /** The WAL source a caller may read: its own host's, or one an operator's restore granted it. */
  function readableSource(ref: v1.SourceRef__Output | null, who: AgentIdentity): SourceRef {
    if (!ref) throw new CoordinatorError('INVALID_ARGUMENT', 'source is required');
    const kind = kindFromWire(ref.kind, 'source.kind');
    if (kind !== 'postgres') throw new CoordinatorError('INVALID_ARGUMENT', `source.kind is ${kind}; only PostgreSQL sources have WAL`);
    if (ref.name === '' || ref.name.length > 256) throw new CoordinatorError('INVALID_ARGUMENT', 'source.name must be 1 to 256 characters');
    const source: SourceRef = { host: ref.host === '' ? who.host : ref.host, kind, name: ref.name };
    if (source.host !== who.host && !grants.allowedSource(who.host, sourceLabel(source))) {
      throw new CoordinatorError(
        'PERMISSION_DENIED',
        `the WAL of ${sourceLabel(source)} belongs to host ${source.host}; agent ${who.host} may read it only during an operator's restore of that source onto it (pbk restore --target-host ${who.host})`,
      );
    }
    return source;
  }

  /** Every content blob durable (waiting for ones still in flight); their DEKs and total plaintext size. */
  async function checkDurable(ids: Buffer[], fileName: string): Promise<{ dekIds: string[]; rawSize: number }> {
    const inFlight = ids.filter((id) => store.state(id) === 'in-flight');
    if (inFlight.length > 0) await store.makeDurable(inFlight);
    const deks = new Set<string>();
    let rawSize = 0;
    for (const id of ids) {
      const entry = repo.index.get(id);
      if (entry === undefined || !store.isDurable(id)) {
        throw new CoordinatorError(
          'FAILED_PRECONDITION',
          `WAL file ${fileName}: blob ${id.toString('hex')} is not in the repository: upload it (MissingBlobs, UploadBlobs) before PutWal`,
        );
      }
      if (entry.type !== 'data') throw new CoordinatorError('INVALID_ARGUMENT', `WAL file ${fileName}: blob ${id.toString('hex')} is a ${entry.type} blob, not data`);
      deks.add(entry.dekId.toString('hex'));
      rawSize += entry.rawLength;
    }
    return { dekIds: [...deks], rawSize };
  }

  return {
    PutWal: unary(log, 'PutWal', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      const run = await runs.get(who.host, runIdFromWire(req.runId));
      if (!run.walStream) throw new CoordinatorError('FAILED_PRECONDITION', `run ${run.id} is not a WAL run: open one with BeginBackup wal_stream=true`);
      const name = req.fileName;
      if (!isWalFileName(name)) {
        throw new CoordinatorError('INVALID_ARGUMENT', `file_name ${JSON.stringify(name.slice(0, 64))} is not a WAL file name (24 hex digits, TTTTTTTT.history, a .backup file, or a promotion's .partial)`);
      }
      const size = count(req.size, 'size');
      if (size > MAX_WAL_FILE_BYTES) throw new CoordinatorError('INVALID_ARGUMENT', `size ${size} is larger than any WAL file (1 GiB)`);
      if (req.sha256.length !== 32) throw new CoordinatorError('INVALID_ARGUMENT', 'sha256 must be 32 bytes');
      if (req.content.length > MAX_WAL_CONTENT_IDS) throw new CoordinatorError('INVALID_ARGUMENT', `at most ${MAX_WAL_CONTENT_IDS} content ids per WAL file`);
      const ids = req.content.map((id, i) => blobId(id, `content[${i}]`));
      const sha = req.sha256.toString('hex');
      const label = sourceLabel(run.source);
      return lockOf(`${label}\n${name}`).run(async () => {
        const old = await catalog.wal.get(run.source.host, run.source.name, name);
        if (old !== undefined) {
          const same = old.size === size && old.sha256 === sha;
          if (old.complete) {
            if (same) return { alreadyHad: true };
            // A growing state arriving after the complete file (a streamer racing wal-push): nothing to record.
            if (!req.complete && size <= old.size) return { alreadyHad: true };
            throw new CoordinatorError(
              'INTEGRITY',
              `WAL file ${name} of ${label} is already stored complete with different content (size ${old.size}, sha256 ${old.sha256.slice(0, 16)}...; ` +
                `offered size ${size}, sha256 ${sha.slice(0, 16)}...): a second server writing the same WAL, or a timeline that reused the name. ` +
                'Nothing was overwritten; check that only one primary archives to this source',
            );
          }
          if (size < old.size) {
            throw new CoordinatorError('INTEGRITY', `WAL file ${name} of ${label} would shrink from ${old.size} to ${size} bytes: a growing WAL file only grows; nothing was changed`);
          }
          if (size === old.size && old.sha256 !== sha) {
            throw new CoordinatorError('INTEGRITY', `WAL file ${name} of ${label}: the same ${size} bytes with a different SHA-256 than recorded; nothing was changed`);
          }
          if (same && old.complete === req.complete) return { alreadyHad: true };
        }
        const { dekIds, rawSize } = await checkDurable(ids, name);
        if (rawSize !== size) {
          throw new CoordinatorError('INVALID_ARGUMENT', `WAL file ${name}: its ${ids.length} blobs hold ${rawSize} bytes, but size says ${size}`);
        }
        if (req.complete) {
          // The repository's own record first (decision 4: the catalog is never the only one):
          // a complete file is in a WAL manifest before PutWal answers. A crash between the two
          // writes leaves a manifest the retried PutWal writes again (duplicates merge in compaction).
          await saveWalManifest(repo, {
            supersedes: [],
            files: [{ host: run.source.host, source: run.source.name, name, size, sha256: sha, content: ids.map((id) => id.toString('hex')) }],
          });
          metrics.walManifestsWritten++;
        }
        await catalog.wal.put(
          { host: run.source.host, sourceName: run.source.name, fileName: name, size, complete: req.complete, content: ids.map((id) => id.toString('hex')), sha256: sha, dekIds, runId: run.id },
          config.now(),
        );
        log.debug({ source: label, file: name, size, complete: req.complete, blobs: ids.length }, 'WAL recorded');
        return { alreadyHad: false };
      });
    }),

    ListWal: unary(log, 'ListWal', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      const source = readableSource(req.source, who);
      const limit = req.limit > 0 ? Math.min(req.limit, 10_000) : 1000;
      const rows = await catalog.wal.list(source.host, source.name, req.fromFileName, limit + 1);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      return { files: page.map(walFileToWire), nextFileName: more ? rows[limit]!.fileName : '' };
    }),

    GetWal: serverStream(log, 'GetWal', async (call, signal) => {
      const who = auth.agent(call);
      const req = call.request;
      const source = readableSource(req.source, who);
      const label = sourceLabel(source);
      if (!isWalFileName(req.fileName)) throw new CoordinatorError('INVALID_ARGUMENT', `file_name ${JSON.stringify(req.fileName.slice(0, 64))} is not a WAL file name`);
      const rec = await catalog.wal.get(source.host, source.name, req.fileName);
      if (rec === undefined || (!rec.complete && !req.allowPartial)) {
        throw new CoordinatorError(
          'NOT_FOUND',
          rec === undefined ? `no WAL file ${req.fileName} of ${label}` : `WAL file ${req.fileName} of ${label} is not complete yet (${rec.size} bytes so far); ask with allow_partial for its growing state`,
        );
      }
      const out = call as unknown as Writable;
      await sendBlobs(
        rec.content.map((hex) => Buffer.from(hex, 'hex')),
        {
          repo,
          auditor,
          actor: actorOf(who),
          where: `WAL file ${rec.fileName} of ${label}`,
          auditDetails: { source: label, wal: rec.fileName, purpose: 'wal-fetch' },
          write: (blobs, first) => writeMessage(out, { ...(first ? { file: walFileToWire(rec) } : {}), blobs } satisfies v1.GetWalResponse, signal),
        },
      );
    }),
  };
}
