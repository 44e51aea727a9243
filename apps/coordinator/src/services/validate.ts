/**
 * OperatorService.Validate: a restore test of one snapshot (DESIGN decision
 * 11c), run by an agent with the source's own tools (redis-check-rdb and a
 * scratch redis-server for Redis). Same shape as Restore: the snapshot is
 * chosen (exact id, or the newest at or before at_unix_ms), the audit log
 * records who asked, a `ValidateCommand` goes to the agent of target_host
 * (the source's host by default; another host gets a grant to read exactly
 * that snapshot, like a cross-host restore), and the job is followed to its
 * report. A failed check is the report's content, not an RPC error; the
 * outcome is audited too.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { writeMessage, type v1 } from '@pbk/protocol';
import type { SourceKind, SourceRef } from '@pbk/storage';
import { actorOf, OPERATE_ROLES } from '../auth.js';
import type { ServiceContext } from '../context.js';
import { snapshotToWire, sourceLabel } from '../convert.js';
import type { PendingCommand } from '../control.js';
import { CoordinatorError } from '../errors.js';
import { serverStream } from '../handlers.js';
import { chosenSnapshot } from './restore-plans.js';

/** What the operator service already has for its job calls (operator.ts passes its own). */
export interface JobHelpers {
  namedSource(ref: v1.SourceRef__Output | null): v1.SourceRef__Output;
  resolveKind(ref: v1.SourceRef__Output, fallback?: SourceKind): SourceKind;
  checkHost(host: string, field: string): string;
  follow(cmd: PendingCommand, out: Writable, jobId: Buffer, signal: AbortSignal, onAccepted: () => Promise<boolean>): Promise<v1.CommandResult__Output | undefined>;
  accepted(jobId: Buffer, host: string): { jobId: Buffer; accepted: v1.JobAccepted };
  deadlineOf(call: { getDeadline(): unknown }): number;
}

/** Kinds an agent knows how to validate (agent daemon/kinds.ts validateByKind). */
const VALIDATED_KINDS: readonly SourceKind[] = ['redis', 'postgres'];

export function validateCall(ctx: ServiceContext, h: JobHelpers): v1.OperatorServiceHandlers['Validate'] {
  const { hub, grants, auth, auditor } = ctx;
  const log = ctx.logger;
  return serverStream(log, 'Validate', async (call, signal) => {
    const who = auth.check(call, OPERATE_ROLES);
    const req = call.request;
    const ref = h.namedSource(req.source);
    const source: SourceRef = { host: ref.host, kind: await kindOf(ctx, h, ref), name: ref.name };
    if (!VALIDATED_KINDS.includes(source.kind)) {
      throw new CoordinatorError('INVALID_ARGUMENT', `${sourceLabel(source)} is a ${source.kind} source: validation runs for ${VALIDATED_KINDS.join(' and ')} sources (files are checked by pbk verify --read-data)`);
    }
    const snap = await chosenSnapshot(ctx, req, source);
    const targetHost = h.checkHost(req.targetHost === '' ? source.host : req.targetHost, 'target_host');
    if (!hub.isConnected(targetHost)) {
      throw new CoordinatorError('UNAVAILABLE', `the agent of ${targetHost} is not connected: start pbk-agent on ${targetHost} (pbk status shows its last heartbeat)`);
    }
    const jobId = randomBytes(16);
    const crossHost = targetHost !== snap.source.host;
    const actor = actorOf(who);
    await auditor.record({ actor, action: 'validate', target: snap.id, details: { job: jobId.toString('hex'), source: sourceLabel(snap.source), targetHost, crossHost, phase: 'requested' } });
    const release = crossHost ? grants.grant(targetHost, snap.id) : () => {};
    let cmd: PendingCommand;
    try {
      cmd = await hub.send(targetHost, { validate: { snapshot: snapshotToWire(snap) } }, h.deadlineOf(call));
    } catch (err) {
      release();
      throw err;
    }
    cmd.onDone(release);
    log.info({ actor, job: jobId.toString('hex'), command: cmd.hex, snapshot: snap.id, targetHost, crossHost }, 'validation requested');
    const out = call as unknown as Writable;
    let result: v1.CommandResult__Output | undefined;
    try {
      result = await h.follow(cmd, out, jobId, signal, async () => {
        await writeMessage(out, h.accepted(jobId, targetHost), signal);
        return true;
      });
    } catch (err) {
      await auditor
        .record({ actor, action: 'validate', target: snap.id, details: { job: jobId.toString('hex'), phase: 'failed', error: (err as Error).message } })
        .catch(() => undefined);
      throw err;
    }
    const report = result?.validation;
    if (!report) throw new CoordinatorError('INTERNAL', `agent ${targetHost} ended the validation without a report`);
    const checks = report.checks.map((c) => `${c.name}:${c.ok ? 'ok' : 'failed'}`).join(' ');
    await auditor.record({ actor, action: 'validate', target: snap.id, details: { job: jobId.toString('hex'), phase: 'finished', ok: report.ok, checks } });
    (report.ok ? log.info.bind(log) : log.warn.bind(log))({ job: jobId.toString('hex'), snapshot: snap.id, ok: report.ok, checks }, 'validation finished');
    await writeMessage(out, { jobId, done: { snapshot: snapshotToWire(snap), report } }, signal);
  });
}

/**
 * The source's kind: as given, or as its connected agent reports it, or (the
 * agent away, the CLI not naming it) the kind its snapshots in the catalog have.
 */
async function kindOf(ctx: ServiceContext, h: JobHelpers, ref: v1.SourceRef__Output): Promise<SourceKind> {
  try {
    return h.resolveKind(ref);
  } catch (err) {
    for (const kind of VALIDATED_KINDS) {
      if (await ctx.catalog.snapshots.findAtOrBefore({ host: ref.host, kind, name: ref.name }, ctx.config.now())) return kind;
    }
    if (err instanceof CoordinatorError && err.code === 'INVALID_ARGUMENT') {
      throw new CoordinatorError('NOT_FOUND', `no redis or postgres snapshots of ${ref.host}/${ref.name}, and its agent does not report such a source: list them with pbk snapshots --host ${ref.host}`);
    }
    throw err;
  }
}
