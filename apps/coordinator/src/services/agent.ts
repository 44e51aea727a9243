/**
 * AgentService: what an enrolled agent may do, always for its own host (the
 * host in its certificate). Order of a backup run, and what each step
 * enforces, in docs/agent-coordinator.md, "A backup run (files)".
 */
import type { Writable } from 'node:stream';
import {
  BlobAssembler,
  MAX_IDS_PER_DOWNLOAD,
  MAX_IDS_PER_MISSING_BLOBS,
  STREAM_IDLE_TIMEOUT_MS,
  toGrpcStatus as toStatus,
  watchIdle,
  writeMessage,
  type v1,
  type WireBlob,
} from '@pbk/protocol';
import { saveSnapshot, type Snapshot, type SnapshotWithId, type SourceRef } from '@pbk/storage';
import { actorOf, type AgentIdentity } from '../auth.js';
import { CoordinatorError } from '../errors.js';
import {
  blobId,
  count,
  kindFromWire,
  modeFromWire,
  optionalKindFromWire,
  runIdFromWire,
  snapshotHex,
  snapshotToWire,
  sourceLabel,
  type SnapshotMeta,
} from '../convert.js';
import type { ServiceContext } from '../context.js';
import { clientStream, serverStream, unary } from '../handlers.js';
import type { OpenRun } from '../runs.js';
import { snapshotById } from '../snapshot-access.js';
import { walkTrees } from '../tree-walk.js';
import { sendBlobs } from '../blob-download.js';
import { beginWalRun, walHandlers } from './wal.js';
import { Mutex } from '../util/mutex.js';

/** Trees known complete (every blob below them durable), so later commits do not walk them again. */
const MAX_COMPLETE_TREES = 200_000;
const MAX_LABELS = 64;
const MAX_LABEL_CHARS = 1024;
const MAX_PATHS = 1024;
/**
 * Sealed bytes of one upload stream being checked and added at once; reading
 * the stream waits above it. Bounds what a stream holds beyond its messages,
 * and lets checks of several blobs (on the open pool's threads) overlap.
 */
const MAX_ACCEPTING_BYTES = 16 * 1024 * 1024;

export function agentService(ctx: ServiceContext): v1.AgentServiceHandlers {
  const { catalog, repo, store, runs, hub, grants, auth, auditor, metrics, alerts, refs, config } = ctx;
  const log = ctx.logger;
  const now = config.now;
  /** DEK creation and run bookkeeping, one at a time. */
  const beginMutex = new Mutex();
  const completeTrees = new Set<string>();

  /** What an upload answers for a blob store.accept refused: CORRUPT says what the agent must do. */
  function refusal(err: unknown, id: Buffer): unknown {
    if ((err as { code?: unknown }).code !== 'CORRUPT') return err;
    metrics.blobsRejected++;
    repo.releaseClaims([id]);
    return new CoordinatorError(
      'CORRUPT',
      `upload refused: ${(err as Error).message}. Nothing of that blob was stored and this stream is not acknowledged; ` +
        'the agent must re-read the data, re-seal it with the run key and upload it again',
      { cause: err },
    );
  }

  /** The caller's source: host empty or its own; kind and name required. */
  function ownSource(ref: v1.SourceRef__Output | null, who: AgentIdentity, field = 'source'): SourceRef {
    if (!ref) throw new CoordinatorError('INVALID_ARGUMENT', `${field} is required`);
    if (ref.host !== '' && ref.host !== who.host) {
      throw new CoordinatorError('PERMISSION_DENIED', `${field}.host is ${ref.host}, but this agent is enrolled as ${who.host}: an agent backs up and reads only its own host`);
    }
    const kind = kindFromWire(ref.kind, `${field}.kind`);
    if (ref.name === '' || ref.name.length > 256) throw new CoordinatorError('INVALID_ARGUMENT', `${field}.name must be 1 to 256 characters (the source name from the agent's config)`);
    return { host: who.host, kind, name: ref.name };
  }

  /** An agent reads its own host's snapshots, or one an operator's restore granted it. */
  function checkReadable(who: AgentIdentity, snap: SnapshotWithId): void {
    if (snap.source.host === who.host || grants.allowed(who.host, snap.id)) return;
    throw new CoordinatorError(
      'PERMISSION_DENIED',
      `snapshot ${snap.id} belongs to host ${snap.source.host}; agent ${who.host} may read only its own host's backups (an operator can restore it here with pbk restore --target-host ${who.host})`,
    );
  }

  async function parentOf(source: SourceRef): Promise<SnapshotWithId | undefined> {
    return catalog.snapshots.findAtOrBefore(source, now());
  }

  function beginResponse(run: OpenRun, parent: SnapshotWithId | undefined): v1.BeginBackupResponse {
    const chunker = repo.chunkerOptions;
    return {
      runId: run.wireId,
      dek: { id: run.dek.id, key: run.dek.key },
      idKey: repo.keys.master.idKey,
      chunker: { minSize: chunker.minSize, avgSize: chunker.avgSize, maxSize: chunker.maxSize, gearSeed: chunker.gearSeed ?? Buffer.alloc(0) },
      parent: parent === undefined ? null : snapshotToWire(parent),
      compressionLevel: config.compressionLevel,
    };
  }

  /**
   * Walks the new root: every tree and data blob it names must be durable.
   * Blobs still on their way in (accepted by an upload, or claimed by another
   * open run that is uploading them) are waited for up to commitWaitMs;
   * anything else missing fails FAILED_PRECONDITION, with the claims released
   * so the agent's next MissingBlobs reports those ids missing.
   */
  async function checkComplete(run: OpenRun, rootHex: string): Promise<string[]> {
    const deadline = Date.now() + config.commitWaitMs;
    for (;;) {
      const missing = new Map<string, { path: string; type: string }>();
      const trees: string[] = [];
      await walkTrees(repo, rootHex, {
        isPresent: (id) => store.isDurable(id),
        skipTree: (id) => completeTrees.has(id),
        onTree: (id) => trees.push(id),
        onMissing: (id, path, type) => missing.set(id, { path, type }),
      });
      if (missing.size === 0) return trees;
      const ids = [...missing.keys()].map((h) => Buffer.from(h, 'hex'));
      const left = deadline - Date.now();
      if (left > 0 && ids.some((id) => store.state(id) === 'in-flight')) {
        await store.flush();
        continue;
      }
      if (left > 0 && ids.some((id) => runs.claimedElsewhere(run, id))) {
        await store.nextFlush(Math.min(left, 1000));
        continue;
      }
      const absent = ids.filter((id) => store.state(id) === 'absent');
      repo.releaseClaims(absent);
      store.forget(absent);
      const [firstId, first] = missing.entries().next().value as [string, { path: string; type: string }];
      throw new CoordinatorError(
        'FAILED_PRECONDITION',
        `${missing.size} blob(s) the tree references are not in the repository (first: ${first.type} blob ${firstId} for ${first.path}): ` +
          'ask MissingBlobs for them again, upload what it reports, then commit',
      );
    }
  }

  return {
    ...walHandlers(ctx),
    Heartbeat: unary(log, 'Heartbeat', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      await catalog.agents.heartbeat(who.host, req.agentVersion === '' ? undefined : req.agentVersion.slice(0, 128));
      hub.recordHealth(who.host, req.sources);
      for (const h of req.sources) {
        const kind = h.source ? optionalKindFromWire(h.source.kind) : undefined;
        if (!h.source || kind === undefined || h.source.name === '') continue;
        alerts.sourceState({ host: who.host, kind, name: h.source.name.slice(0, 256) }, h.state.slice(0, 32), h.detail.slice(0, 1024), h.facts.alert);
      }
      return { serverTimeUnixMs: String(now().getTime()), heartbeatIntervalMs: String(config.heartbeatIntervalMs) };
    }),

    Control: (call) => {
      let who: AgentIdentity;
      try {
        who = auth.agent(call);
      } catch (err) {
        call.emit('error', toStatus(err));
        return;
      }
      let session: ReturnType<typeof hub.attach> | undefined;
      const helloTimer = setTimeout(() => {
        if (session === undefined) call.emit('error', toStatus(new CoordinatorError('DEADLINE_EXCEEDED', `no hello within ${config.commandAckTimeoutMs / 1000} s: the first Control message must be AgentHello`)));
      }, config.commandAckTimeoutMs);
      helloTimer.unref();
      const gone = (): void => {
        clearTimeout(helloTimer);
        if (session !== undefined) hub.detach(session);
      };
      call.on('data', (msg: v1.AgentMessage__Output) => {
        if (session === undefined) {
          if (msg.msg !== 'hello' || !msg.hello) {
            call.emit('error', toStatus(new CoordinatorError('INVALID_ARGUMENT', 'the first Control message must be AgentHello')));
            return;
          }
          clearTimeout(helloTimer);
          try {
            session = hub.attach(who.host, call, msg.hello);
          } catch (err) {
            call.emit('error', toStatus(err));
            return;
          }
          catalog.agents.heartbeat(who.host, msg.hello.agentVersion === '' ? undefined : msg.hello.agentVersion.slice(0, 128)).catch((err: unknown) => {
            log.warn({ host: who.host, err: (err as Error).message }, 'could not record the agent as seen');
          });
          return;
        }
        hub.receive(session, msg);
      });
      call.on('end', () => {
        gone();
        call.end();
      });
      call.on('cancelled', gone);
      call.on('close', gone);
      call.on('error', gone);
    },

    BeginBackup: unary(log, 'BeginBackup', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      const source = ownSource(req.source, who);
      if (req.resumeRunId.length > 0) {
        const run = await runs.get(who.host, runIdFromWire(req.resumeRunId, 'resume_run_id'));
        if (sourceLabel(run.source) !== sourceLabel(source)) {
          throw new CoordinatorError('FAILED_PRECONDITION', `run ${run.id} backs up ${sourceLabel(run.source)}, not ${sourceLabel(source)}: begin a new run for this source`);
        }
        await catalog.runs.markResumed(run.id);
        await auditor.record({ actor: actorOf(who), action: 'key.unwrap', target: run.dek.id.toString('hex'), details: { run: run.id, purpose: 'resume' } });
        const parent = run.parent === undefined ? undefined : await catalog.snapshots.get(run.parent);
        log.info({ run: run.id, source: sourceLabel(source) }, 'backup run resumed');
        return beginResponse(run, parent);
      }
      if (req.walStream) return beginMutex.run(async () => beginResponse(await beginWalRun(ctx, who, source), undefined));
      return beginMutex.run(async () => {
        const requested = modeFromWire(req.mode);
        const latest = requested === 'full' ? undefined : await parentOf(source);
        // Unspecified: incremental when there is a parent to trust, else a full (no schedule decides yet).
        const mode = requested ?? (latest === undefined ? 'full' : 'incremental');
        const parent = mode === 'incremental' ? latest : undefined;
        const dek = await repo.keys.newDek();
        const row = await catalog.runs.begin({ source, mode, dekId: dek.id.toString('hex') });
        await auditor.record({
          actor: actorOf(who),
          action: 'key.create',
          target: dek.id.toString('hex'),
          details: { run: row.id, source: sourceLabel(source), mode, command: req.commandId.length > 0 ? req.commandId.toString('hex') : undefined },
        });
        const run = runs.add(row, dek, parent?.id);
        log.info({ run: run.id, source: sourceLabel(source), mode, parent: parent?.id }, 'backup run begun');
        return beginResponse(run, parent);
      });
    }),

    MissingBlobs: unary(log, 'MissingBlobs', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      if (req.ids.length > MAX_IDS_PER_MISSING_BLOBS) {
        throw new CoordinatorError('INVALID_ARGUMENT', `${req.ids.length} ids in one MissingBlobs call; the limit is ${MAX_IDS_PER_MISSING_BLOBS}: split the request`);
      }
      const run = await runs.get(who.host, runIdFromWire(req.runId));
      const ids = req.ids.map((id, i) => blobId(id, `ids[${i}]`));
      const missing = repo.claimMissing(ids);
      runs.claim(run, ids, missing);
      store.forget(ids.filter((_, i) => missing[i]));
      return { missing: ids.filter((_, i) => missing[i]) };
    }),

    UploadBlobs: clientStream(log, 'UploadBlobs', async (call) => {
      const who = auth.agent(call);
      const idle = watchIdle(call, STREAM_IDLE_TIMEOUT_MS, () => {
        call.destroy(new CoordinatorError('DEADLINE_EXCEEDED', `no upload message for ${STREAM_IDLE_TIMEOUT_MS / 1000} s: the stream was dropped; nothing of it was acknowledged, upload again`));
      });
      let run: OpenRun | undefined;
      const assembler = new BlobAssembler(store.allocate);
      const ids: Buffer[] = [];
      let stored = 0;
      let duplicate = 0;
      let bytes = 0;
      const started = performance.now();
      let acceptMs = 0;
      // Blobs being checked and added while the next messages are read: checking one must not stop the stream.
      const accepting = new Set<Promise<void>>();
      let acceptingBytes = 0;
      let failure: { err: unknown } | undefined;
      let storedBytes = 0;
      const accept = (r: OpenRun, blob: WireBlob): void => {
        const size = blob.sealed.length;
        const t0 = performance.now();
        const job: Promise<void> = store
          .accept(r.dek, blob)
          .then(
            (a) => {
              ids.push(blob.id);
              runs.uploaded(r, blob.id);
              if (a.outcome === 'stored') stored++;
              else duplicate++;
              storedBytes += a.storedBytes;
              r.storedBytes += a.storedBytes;
              if (a.deltaSavedBytes > 0) {
                metrics.deltaBlobs++;
                metrics.deltaSavedBytes += a.deltaSavedBytes;
              }
            },
            (err: unknown) => {
              failure ??= { err: refusal(err, blob.id) };
            },
          )
          .finally(() => {
            acceptMs += performance.now() - t0;
            accepting.delete(job);
            acceptingBytes -= size;
          });
        accepting.add(job);
        acceptingBytes += size;
      };
      try {
        for await (const msg of call as AsyncIterable<v1.UploadBlobsRequest__Output>) {
          if (failure) throw failure.err;
          if (run === undefined) run = await runs.get(who.host, runIdFromWire(msg.runId));
          else if (msg.runId.length > 0 && !msg.runId.equals(run.wireId)) {
            throw new CoordinatorError('INVALID_ARGUMENT', 'one UploadBlobs stream carries blobs of one run: run_id changed mid-stream');
          }
          for (const p of msg.parts) bytes += p.data.length;
          metrics.bytesReceived += msg.parts.reduce((n, p) => n + p.data.length, 0);
          for (const blob of assembler.push(msg.parts)) accept(run, blob);
          while (acceptingBytes > MAX_ACCEPTING_BYTES && !failure) await Promise.race(accepting);
        }
        assembler.finish();
        await Promise.all(accepting);
        if (failure) throw failure.err;
      } finally {
        idle.stop();
        assembler.abort();
        // Nothing of a refused stream may still be running when the refusal goes out.
        await Promise.allSettled(accepting);
        // Counted even for a refused stream: what it stored stays stored (a re-upload is a duplicate).
        if (run !== undefined && storedBytes > 0) {
          await catalog.runs.addStoredBytes(run.id, storedBytes).catch((err: unknown) => {
            log.warn({ run: run!.id, err: (err as Error).message }, 'stored bytes of an upload stream not recorded in the catalog: the run keeps them in memory until a restart');
          });
        }
      }
      if (run === undefined) return { blobsStored: 0, blobsDuplicate: 0, bytesReceived: 0 };
      const received = performance.now();
      // The acknowledgement: every blob of this stream durable (pack fsynced and renamed, index written).
      await store.makeDurable(ids);
      metrics.blobsStored += stored;
      metrics.blobsDuplicate += duplicate;
      // Where a stream's time went: receiving, checking and adding blobs (overlapping), then the durable wait.
      const timings = { receiveMs: Math.round(received - started), acceptMs: Math.round(acceptMs), durableMs: Math.round(performance.now() - received) };
      log.debug({ run: run.id, stored, duplicate, bytes, timings }, 'upload stream durable');
      return { blobsStored: String(stored), blobsDuplicate: String(duplicate), bytesReceived: String(bytes) };
    }),

    CommitBackup: unary(log, 'CommitBackup', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      const runId = runIdFromWire(req.runId);
      // A retried commit whose answer was lost: same snapshot again.
      const row = await catalog.runs.get(runId);
      if (row?.state === 'committed' && row.source.host === who.host && row.snapshotId !== undefined) {
        return { snapshot: snapshotToWire(await snapshotById(catalog, repo, row.snapshotId)) };
      }
      const run = await runs.get(who.host, runId);
      if (run.walStream) throw new CoordinatorError('FAILED_PRECONDITION', `run ${run.id} is a WAL run: it is never committed (its WAL is recorded with PutWal)`);
      const rootHex = blobId(req.treeRoot, 'tree_root').toString('hex');
      const labels = checkLabels(req.labels);
      if (req.paths.length > MAX_PATHS || req.paths.some((p) => p.length === 0 || p.length > 4096 || p.includes('\0'))) {
        throw new CoordinatorError('INVALID_ARGUMENT', `paths: at most ${MAX_PATHS}, each 1 to 4096 characters without NUL`);
      }
      const stats = req.stats;
      const timeMs = count(req.timeUnixMs, 'time_unix_ms') || run.startedAt.getTime();
      return run.lock.run(async () => {
        // Everything uploaded so far durable and indexed before the check and before the snapshot object.
        await store.flush();
        const trees = await checkComplete(run, rootHex);
        const committedAt = now();
        const meta: SnapshotMeta = {
          pbk: {
            runId: run.id,
            mode: run.mode,
            committedUnixMs: committedAt.getTime(),
            newBytes: count(stats?.newBytes, 'stats.new_bytes'),
            skipped: count(stats?.skipped, 'stats.skipped'),
            storedBytes: run.storedBytes,
          },
          labels,
        };
        const snapshot: Snapshot = {
          version: 1,
          time: new Date(timeMs).toISOString(),
          source: run.source,
          tags: [],
          tree: rootHex,
          dekId: run.dek.id.toString('hex'),
          paths: [...req.paths],
          summary: {
            files: count(stats?.files, 'stats.files'),
            dirs: count(stats?.dirs, 'stats.dirs'),
            bytesTotal: count(stats?.totalBytes, 'stats.total_bytes'),
            bytesRead: count(stats?.newBytes, 'stats.new_bytes'),
            blobsNew: count(stats?.newBlobs, 'stats.new_blobs'),
            bytesNewStored: count(stats?.uploadedBytes, 'stats.uploaded_bytes'),
            durationMs: Math.max(0, committedAt.getTime() - run.startedAt.getTime()),
            errors: [],
          },
          meta: meta as Record<string, unknown>,
        };
        if (run.parent !== undefined) snapshot.parent = run.parent;
        const id = await saveSnapshot(repo, snapshot);
        const withId: SnapshotWithId = { ...snapshot, id };
        await catalog.snapshots.put(withId);
        await catalog.runs.markCommitted(run.id, { snapshotId: id, bytesTotal: snapshot.summary.bytesTotal, bytesNew: meta.pbk!.newBytes!, files: snapshot.summary.files, bytesStored: run.storedBytes });
        runs.finish(run);
        if (completeTrees.size + trees.length > MAX_COMPLETE_TREES) completeTrees.clear();
        for (const t of trees) completeTrees.add(t);
        // The next run of this source reads this snapshot's trees: have their ids ready.
        refs.warm(withId);
        metrics.backupsCommitted++;
        log.info({ run: run.id, snapshot: id, source: sourceLabel(run.source), files: snapshot.summary.files }, 'backup committed');
        return { snapshot: snapshotToWire(withId) };
      });
    }),

    AbortBackup: unary(log, 'AbortBackup', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      const runId = runIdFromWire(req.runId);
      const row = await catalog.runs.get(runId);
      if (row === undefined) throw new CoordinatorError('NOT_FOUND', `no backup run ${runId}`);
      if (row.source.host !== who.host) throw new CoordinatorError('PERMISSION_DENIED', `backup run ${runId} belongs to host ${row.source.host}, not ${who.host}`);
      if (row.state === 'failed' || row.state === 'abandoned') return {};
      if (row.state === 'committed') throw new CoordinatorError('FAILED_PRECONDITION', `backup run ${runId} is already committed (snapshot ${row.snapshotId}); nothing to abort`);
      const run = await runs.get(who.host, runId);
      await run.lock.run(async () => {
        const code = (req.failure?.code || 'CANCELLED').slice(0, 64);
        await catalog.runs.markFailed(run.id, code, req.failure?.message || 'aborted by the agent without a reason');
        runs.finish(run);
        metrics.backupsFailed++;
        log.info({ run: run.id, source: sourceLabel(run.source), code }, 'backup run aborted');
        // A cancelled run (operator, shutdown) is not a failure anyone must be paged for.
        if (code !== 'CANCELLED') {
          alerts.raise({ type: 'BACKUP_FAILED', source: run.source, message: `backup of ${sourceLabel(run.source)} failed: ${code}: ${req.failure?.message || 'no reason given'}`, details: { run: run.id, code } });
        }
      });
      return {};
    }),

    GetSnapshot: unary(log, 'GetSnapshot', async (call) => {
      const who = auth.agent(call);
      const req = call.request;
      if (req.selector === 'snapshotId') {
        const snap = await snapshotById(catalog, repo, snapshotHex(req.snapshotId));
        checkReadable(who, snap);
        return { snapshot: snapshotToWire(snap) };
      }
      if (req.selector === 'at' && req.at) {
        const source = ownSource(req.at.source, who, 'at.source');
        const t = count(req.at.timeUnixMs, 'at.time_unix_ms');
        const at = t === 0 ? now() : new Date(t);
        const snap = await catalog.snapshots.findAtOrBefore(source, at);
        if (snap === undefined) throw new CoordinatorError('NOT_FOUND', `no snapshot of ${sourceLabel(source)} at or before ${at.toISOString()}`);
        return { snapshot: snapshotToWire(snap) };
      }
      throw new CoordinatorError('INVALID_ARGUMENT', 'give snapshot_id or at');
    }),

    DownloadBlobs: serverStream(log, 'DownloadBlobs', async (call, signal) => {
      const who = auth.agent(call);
      const req = call.request;
      const hex = snapshotHex(req.snapshotId);
      const snap = refs.snapshot(hex) ?? (await snapshotById(catalog, repo, hex));
      checkReadable(who, snap);
      if (req.ids.length > MAX_IDS_PER_DOWNLOAD) {
        throw new CoordinatorError('INVALID_ARGUMENT', `${req.ids.length} ids in one DownloadBlobs call; the limit is ${MAX_IDS_PER_DOWNLOAD}: ask in batches`);
      }
      const ids = req.ids.map((id, i) => blobId(id, `ids[${i}]`));
      const referenced = await refs.get(snap);
      for (const id of ids) {
        if (!referenced.has(id.toString('latin1'))) {
          throw new CoordinatorError('PERMISSION_DENIED', `blob ${id.toString('hex')} is not part of snapshot ${snap.id}: ask only for ids its trees name`);
        }
      }
      const out = call as unknown as Writable;
      await sendBlobs(ids, {
        repo,
        auditor,
        actor: actorOf(who),
        where: `snapshot ${snap.id}`,
        auditDetails: { snapshot: snap.id, purpose: 'restore' },
        write: (msg) => writeMessage(out, msg satisfies v1.DownloadBlobsResponse, signal),
      });
    }),
  };
}

function checkLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = Object.entries(labels ?? {});
  if (entries.length > MAX_LABELS) throw new CoordinatorError('INVALID_ARGUMENT', `at most ${MAX_LABELS} labels per snapshot`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > 128 || v.length > MAX_LABEL_CHARS || k.includes('\0') || v.includes('\0')) {
      throw new CoordinatorError('INVALID_ARGUMENT', `label ${JSON.stringify(k.slice(0, 64))}: keys are 1-128 characters, values up to ${MAX_LABEL_CHARS}, no NUL`);
    }
    out[k] = v;
  }
  return out;
}
