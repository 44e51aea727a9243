/**
 * OperatorService: what the `pbk` CLI (and grpcurl) calls. Roles: auditor may
 * read (Status, ListSnapshots); operator and admin may also act (StartBackup,
 * Restore, Verify). Long calls stream `accepted` first, then progress, then
 * one final message; a failure ends the stream with a status carrying
 * `pbk-code`.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import { PROGRESS_INTERVAL_MS, writeMessage, type v1 } from '@pbk/protocol';
import { verifyRepository, type Problem, type SnapshotWithId, type SourceKind, type SourceRef } from '@pbk/storage';
import { actorOf, OPERATE_ROLES, READ_ROLES } from '../auth.js';
import { CoordinatorError } from '../errors.js';
import { count, kindFromWire, modeFromWire, optionalKindFromWire, snapshotHex, snapshotToWire, sourceLabel, sourceToWire } from '../convert.js';
import type { ServiceContext } from '../context.js';
import { failureError, type PendingCommand } from '../control.js';
import { serverStream, unary } from '../handlers.js';
import { planFilesRestore, planPostgresLogicalRestore, planPostgresRestore, planRedisRestore } from './restore-plans.js';
import { Mutex } from '../util/mutex.js';
import { validateCall } from './validate.js';

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

export function operatorService(ctx: ServiceContext): v1.OperatorServiceHandlers {
  const { catalog, repo, store, hub, grants, auth, auditor, config, maintenance } = ctx;
  const log = ctx.logger;
  const now = config.now;
  /** One verify at a time: it reads every pack and is CPU-bound on a 2-core host. */
  const verifyMutex = new Mutex();

  function checkHost(host: string, field: string): string {
    if (!HOST_RE.test(host)) throw new CoordinatorError('INVALID_ARGUMENT', `${field} ${JSON.stringify(host)} is not a host name`);
    return host;
  }

  /** The kind of a source named by host and name: as given, or as the connected agent reports it. */
  function resolveKind(ref: v1.SourceRef__Output, fallback?: SourceKind): SourceKind {
    const given = optionalKindFromWire(ref.kind);
    if (given !== undefined) return given;
    const hello = hub.session(ref.host)?.hello;
    const found = hello?.sources.find((s) => s.name === ref.name);
    if (found !== undefined) return kindFromWire(found.kind, `the agent's source ${ref.name}`);
    if (fallback !== undefined) return fallback;
    throw new CoordinatorError('INVALID_ARGUMENT', `source.kind is unspecified and the agent of ${ref.host} does not report a source named ${JSON.stringify(ref.name)}: give the kind`);
  }

  function namedSource(ref: v1.SourceRef__Output | null): v1.SourceRef__Output {
    if (!ref || ref.host === '' || ref.name === '') throw new CoordinatorError('INVALID_ARGUMENT', 'source.host and source.name are required');
    checkHost(ref.host, 'source.host');
    return ref;
  }

  function accepted(jobId: Buffer, host: string): { jobId: Buffer; accepted: v1.JobAccepted } {
    return { jobId, accepted: { acceptedUnixMs: String(now().getTime()), host } };
  }

  /** Follows a command to its result, forwarding progress; returns the result or throws the agent's failure. */
  async function follow(
    cmd: PendingCommand,
    out: Writable,
    jobId: Buffer,
    signal: AbortSignal,
    onAccepted: () => Promise<boolean>,
  ): Promise<v1.CommandResult__Output | undefined> {
    // The operator who follows a job cancels it by cancelling the call (Ctrl-C in pbk):
    // the agent is told, so a restore or a backup does not run on with nobody waiting for it.
    // A job that returned early on purpose (StartBackup without wait) is not followed, so never cancelled.
    let followed = true;
    const onCancel = (): void => {
      if (followed) {
        log.info({ command: cmd.hex, host: cmd.host, action: cmd.action }, 'the caller cancelled; cancelling the command on the agent');
        hub.cancel(cmd, 'the operator cancelled the call');
      }
    };
    signal.addEventListener('abort', onCancel, { once: true });
    try {
      for await (const ev of cmd.follow(signal)) {
        if (ev.kind === 'ack') {
          if (!ev.ack.accepted) throw failureError(cmd.host, ev.ack.failure);
          if (!(await onAccepted())) {
            followed = false;
            return undefined;
          }
        } else if (ev.kind === 'progress') {
          await writeMessage(out, { jobId, progress: ev.progress }, signal);
        } else {
          if (ev.result.outcome === 'failure' || ev.result.failure) throw failureError(cmd.host, ev.result.failure);
          return ev.result;
        }
      }
      throw new CoordinatorError('UNAVAILABLE', `the ${cmd.action} on ${cmd.host} ended without a result; see pbk status`);
    } finally {
      signal.removeEventListener('abort', onCancel);
    }
  }

  function deadlineOf(call: { getDeadline(): unknown }): number {
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Infinity;
    return Number.isFinite(ms) ? ms : 0;
  }

  return {
    Status: unary(log, 'Status', async (call) => {
      auth.check(call, READ_ROLES);
      const t = now();
      const [agents, latest, running] = await Promise.all([catalog.agents.list({ includeRevoked: false }), catalog.snapshots.latestPerSource(), catalog.runs.listRunning()]);
      const sources = new Map<string, SourceRef>();
      const latestBy = new Map<string, SnapshotWithId>();
      for (const s of latest) {
        sources.set(sourceLabel(s.source), s.source);
        latestBy.set(sourceLabel(s.source), s);
      }
      const runningBy = new Set<string>();
      for (const r of running) {
        sources.set(sourceLabel(r.source), r.source);
        runningBy.add(sourceLabel(r.source));
      }
      for (const session of hub.sessions()) {
        for (const s of session.hello.sources) {
          const kind = optionalKindFromWire(s.kind);
          if (kind === undefined || s.name === '') continue;
          const ref = { host: session.host, kind, name: s.name };
          sources.set(sourceLabel(ref), ref);
        }
      }
      const sourceStatus: v1.SourceStatus[] = [];
      for (const [label, source] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
        const [success, failure] = await Promise.all([catalog.runs.lastSuccess(source), catalog.runs.lastFailure(source)]);
        const last = latestBy.get(label);
        const successMs = success?.finishedAt?.getTime() ?? (last ? Date.parse(last.time) : 0);
        const failureMs = failure?.finishedAt?.getTime() ?? 0;
        const failing = failureMs > successMs;
        const ageMs = last ? Math.max(0, t.getTime() - Date.parse(last.time)) : 0;
        const state = runningBy.has(label) ? 'running' : failing ? 'failing' : last === undefined || ageMs > config.rpoTargetMs ? 'late' : 'ok';
        sourceStatus.push({
          source: sourceToWire(source),
          lastSnapshot: last ? snapshotToWire(last) : null,
          lastSuccessUnixMs: String(successMs),
          lastFailureUnixMs: String(failureMs),
          lastFailure: failing && failure ? { code: failure.errorCode ?? 'INTERNAL', message: failure.errorMessage ?? '' } : null,
          rpoAgeMs: String(ageMs),
          rpoTargetMs: String(config.rpoTargetMs),
          state,
        });
      }
      return {
        coordinatorVersion: ctx.version,
        serverTimeUnixMs: String(t.getTime()),
        region: config.region,
        primary: true,
        agents: agents.map((a) => ({
          host: a.host,
          agentVersion: a.agentVersion,
          connected: hub.isConnected(a.host),
          lastHeartbeatUnixMs: String(a.lastHeartbeatAt?.getTime() ?? 0),
          certNotAfterUnixMs: String(a.certNotAfter.getTime()),
        })),
        sources: sourceStatus,
        repository: {
          snapshots: String(await catalog.snapshots.count()),
          packs: String(repo.index.packCount),
          blobs: String(repo.index.blobCount),
          storedBytes: String(store.storedBytes()),
        },
      };
    }),

    ListSnapshots: unary(log, 'ListSnapshots', async (call) => {
      auth.check(call, READ_ROLES);
      const req = call.request;
      const since = count(req.sinceUnixMs, 'since_unix_ms');
      const until = count(req.untilUnixMs, 'until_unix_ms');
      const kind = optionalKindFromWire(req.kind, 'kind');
      const page = await catalog.snapshots.list({
        host: req.host === '' ? undefined : req.host,
        name: req.source === '' ? undefined : req.source,
        kind,
        since: since === 0 ? undefined : new Date(since),
        until: until === 0 ? undefined : new Date(until),
        limit: req.limit === 0 ? undefined : Math.min(req.limit, 1000),
        pageToken: req.pageToken === '' ? undefined : req.pageToken,
      });
      return { snapshots: page.snapshots.map(snapshotToWire), nextPageToken: page.nextPageToken ?? '' };
    }),

    StartBackup: serverStream(log, 'StartBackup', async (call, signal) => {
      const who = auth.check(call, OPERATE_ROLES);
      const req = call.request;
      const ref = namedSource(req.source);
      const source: SourceRef = { host: ref.host, kind: resolveKind(ref), name: ref.name };
      const mode = modeFromWire(req.mode);
      const jobId = randomBytes(16);
      const out = call as unknown as Writable;
      const cmd = await hub.send(
        source.host,
        { backup: { source: sourceToWire(source), mode: req.mode === 'BACKUP_MODE_FULL' || req.mode === 'BACKUP_MODE_INCREMENTAL' ? req.mode : 'BACKUP_MODE_UNSPECIFIED', variant: req.variant } },
        req.wait ? deadlineOf(call) : 0,
      );
      log.info({ actor: actorOf(who), job: jobId.toString('hex'), command: cmd.hex, source: sourceLabel(source), mode: mode ?? 'scheduled', wait: req.wait }, 'backup requested');
      const result = await follow(cmd, out, jobId, signal, async () => {
        await writeMessage(out, accepted(jobId, source.host), signal);
        return req.wait;
      });
      if (result === undefined) return;
      if (!result.snapshot) throw new CoordinatorError('INTERNAL', `agent ${source.host} ended the backup without a snapshot`);
      await writeMessage(out, { jobId, snapshot: result.snapshot }, signal);
    }),

    Restore: serverStream(log, 'Restore', async (call, signal) => {
      const who = auth.check(call, OPERATE_ROLES);
      const req = call.request;
      const ref = namedSource(req.source);
      const kind = resolveKind(ref, req.options === 'postgres' || req.options === 'postgresLogical' ? 'postgres' : req.options === 'redis' ? 'redis' : 'files');
      const source: SourceRef = { host: ref.host, kind, name: ref.name };
      const wanted = { files: 'files', postgres: 'postgres', postgresLogical: 'postgres', redis: 'redis' } as const;
      if (req.options !== undefined && wanted[req.options] !== kind) {
        throw new CoordinatorError('INVALID_ARGUMENT', `${sourceLabel(source)} is a ${kind} source; options.${req.options} does not apply to it`);
      }
      const plan =
        kind === 'files'
          ? await planFilesRestore(ctx, req, source)
          : kind === 'redis'
            ? await planRedisRestore(ctx, req, source)
            : req.options === 'postgresLogical'
              ? await planPostgresLogicalRestore(ctx, req, source)
              : await planPostgresRestore(ctx, req, source);
      const snap = plan.snapshot;
      const targetHost = checkHost(req.targetHost === '' ? source.host : req.targetHost, 'target_host');
      if (!hub.isConnected(targetHost)) {
        throw new CoordinatorError('UNAVAILABLE', `the agent of ${targetHost} is not connected: start pbk-agent on ${targetHost} (pbk status shows its last heartbeat)`);
      }
      const jobId = randomBytes(16);
      const crossHost = targetHost !== snap.source.host;
      await auditor.record({
        actor: actorOf(who),
        action: 'restore',
        target: snap.id,
        details: { job: jobId.toString('hex'), source: sourceLabel(snap.source), targetHost, ...plan.audit, crossHost },
      });
      const release = crossHost ? grants.grant(targetHost, snap.id, sourceLabel(snap.source)) : () => {};
      let cmd: PendingCommand;
      try {
        cmd = await hub.send(targetHost, { restore: { snapshot: snapshotToWire(snap), ...plan.command } }, deadlineOf(call));
      } catch (err) {
        release();
        throw err;
      }
      // The grant lasts as long as the command on the agent, not as long as this call.
      cmd.onDone(release);
      log.info({ actor: actorOf(who), job: jobId.toString('hex'), command: cmd.hex, snapshot: snap.id, targetHost, crossHost }, 'restore requested');
      const out = call as unknown as Writable;
      const result = await follow(cmd, out, jobId, signal, async () => {
        await writeMessage(out, accepted(jobId, targetHost), signal);
        return true;
      });
      const r = result?.restore;
      if (!r) throw new CoordinatorError('INTERNAL', `agent ${targetHost} ended the restore without a summary`);
      await writeMessage(
        out,
        {
          jobId,
          done: { snapshot: snapshotToWire(snap), targetHost, targetDir: r.targetDir || plan.command.targetDir || '', files: r.files, dirs: r.dirs, bytes: r.bytes, durationMs: r.durationMs, facts: r.facts },
        },
        signal,
      );
    }),

    Verify: serverStream(log, 'Verify', async (call, signal) => {
      const who = auth.check(call, OPERATE_ROLES);
      const pct = call.request.readDataPercent;
      if (!Number.isFinite(pct) || pct < 0 || pct > 100) throw new CoordinatorError('INVALID_ARGUMENT', `read_data_percent must be 0 to 100, not ${pct}`);
      const jobId = randomBytes(16);
      const out = call as unknown as Writable;
      const started = Date.now();
      await writeMessage(out, accepted(jobId, ''), signal);
      log.info({ actor: actorOf(who), job: jobId.toString('hex'), readDataPercent: pct }, 'verify started');
      const report = await verifyMutex.run(() => maintenance.exclusive(async () => {
        let progress: v1.Progress = { phase: 'verifying', bytesDone: 0, bytesTotal: 0, itemsDone: 0, itemsTotal: 0, current: 'index', elapsedMs: 0 };
        const timer = setInterval(() => {
          if (!signal.aborted) out.write({ jobId, progress: { ...progress, elapsedMs: String(Date.now() - started) } });
        }, PROGRESS_INTERVAL_MS);
        try {
          // Whatever uploads handed over becomes durable and indexed first, so it is checked as stored, not as a leftover.
          await store.flush();
          return await verifyRepository(repo, {
            readDataPercent: pct,
            onProgress: (p) => {
              progress = { phase: 'verifying', itemsDone: p.done, itemsTotal: p.total, current: p.phase, bytesDone: 0, bytesTotal: 0 };
            },
          });
        } finally {
          clearInterval(timer);
        }
      }));
      const result: v1.VerifyReport = {
        ok: report.ok,
        snapshotsChecked: String(report.snapshots.total),
        packsChecked: String(report.packs.read),
        blobsChecked: String(report.blobs.checked),
        bytesRead: '0',
        durationMs: String(Date.now() - started),
        problems: report.problems.map(problemToWire),
      };
      log.info({ job: jobId.toString('hex'), ok: report.ok, problems: report.problems.length, warnings: report.warnings.length }, 'verify finished');
      await writeMessage(out, { jobId, report: result }, signal);
    }),

    Validate: validateCall(ctx, { namedSource, resolveKind, checkHost, follow, accepted, deadlineOf }),

    CompactRepository: unary(log, 'CompactRepository', async (call) => {
      const who = auth.check(call, OPERATE_ROLES);
      const graceS = count(call.request.graceSeconds, 'grace_seconds');
      log.info({ actor: actorOf(who), dryRun: call.request.dryRun, graceSeconds: graceS }, 'compaction requested');
      const r = await maintenance.run({ dryRun: call.request.dryRun, trigger: 'operator', ...(graceS > 0 ? { graceMs: graceS * 1000 } : {}) });
      const n = (v: number) => String(v);
      return {
        packsBefore: n(r.packs.before),
        packsAfter: n(r.packs.after),
        packsCompacted: n(r.packs.compacted),
        packsWritten: n(r.packs.written),
        packsDeleted: n(r.packs.deleted),
        orphansDeleted: n(r.packs.orphansDeleted),
        pendingDeletes: n(r.pendingDeletes),
        blobsCopied: n(r.blobsCopied),
        bytesCopied: n(r.bytesCopied),
        indexObjectsBefore: n(r.indexObjects.before),
        indexObjectsWritten: n(r.indexObjects.written),
        indexObjectsRemoved: n(r.indexObjects.removed),
        walManifestsBefore: n(r.walManifests.before),
        walManifestsWritten: n(r.walManifests.written),
        walManifestsRemoved: n(r.walManifests.removed),
        walFilesBackfilled: n(r.walFilesBackfilled),
        durationMs: n(r.durationMs),
        dryRun: r.dryRun,
      } satisfies v1.CompactRepositoryResponse;
    }),
  };
}

function problemToWire(p: Problem): v1.VerifyProblem {
  const notFound = p.kind === 'blob-missing' || p.kind === 'pack-missing' || p.kind === 'key-missing' || p.kind === 'snapshot-incomplete';
  const where = [p.snapshot ? `snapshot ${p.snapshot}` : '', p.path ?? ''].filter(Boolean).join(' ');
  return { code: notFound ? 'NOT_FOUND' : 'CORRUPT', object: p.id, message: `${p.kind}: ${p.detail}${where ? ` (${where})` : ''}` };
}
