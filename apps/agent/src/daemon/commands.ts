/**
 * Executes the coordinator's commands: each is answered with exactly one
 * CommandAck, then CommandProgress, then one CommandResult (agent.proto).
 * A command id seen again while it runs (re-sent after a reconnect) is
 * acknowledged and re-attached, never started twice. Deadlines and
 * CancelCommand abort the work; the result then says DEADLINE_EXCEEDED or
 * CANCELLED.
 */
import { PROGRESS_INTERVAL_MS, type v1 } from '@pbk/protocol';
import type { Clock, TimerHandle } from '../clock.js';
import { AgentError, codeOf, failureOf, messageOf } from '../errors.js';
import type { BackupModeName } from '../files/backup.js';
import type { Logger } from '../logger.js';
import type { AgentSource } from './source.js';

export interface CommandDeps {
  host: string;
  sources: ReadonlyMap<string, AgentSource>;
  restore(cmd: v1.RestoreCommand__Output, run: { signal: AbortSignal; onProgress(p: v1.Progress): void }): Promise<v1.RestoreSummary>;
  validate(cmd: v1.ValidateCommand__Output, run: { signal: AbortSignal; onProgress(p: v1.Progress): void }): Promise<v1.ValidationReport>;
  send(msg: v1.AgentMessage, durable?: boolean): void;
  clock: Clock;
  log: Logger;
}

interface Running {
  kind: 'backup' | 'restore' | 'validate';
  cancel(reason: AgentError): void;
  done: Promise<void>;
}

export class CommandExecutor {
  private readonly running = new Map<string, Running>();
  private accepting = true;

  constructor(private readonly deps: CommandDeps) {}

  /** Command ids still running, for AgentHello. */
  runningIds(): Buffer[] {
    return [...this.running.keys()].map((hex) => Buffer.from(hex, 'hex'));
  }

  handle(cmd: v1.Command__Output): void {
    const id = cmd.commandId;
    const hex = id.toString('hex');
    const log = this.deps.log.child({ command: hex, action: cmd.action });
    if (this.running.has(hex)) {
      log.info('command re-sent while running; re-attached');
      this.ack(id, true);
      return;
    }
    const refuse = (err: AgentError): void => {
      log.warn({ code: err.code, err: err.message }, 'command refused');
      this.deps.send({ ack: { commandId: id, accepted: false, failure: failureOf(err) } });
    };
    if (!this.accepting) return refuse(new AgentError('UNAVAILABLE', 'the agent is shutting down; send the command again when it is back'));
    const deadline = Number(cmd.deadlineUnixMs);
    if (deadline > 0 && deadline <= this.deps.clock.now()) return refuse(new AgentError('DEADLINE_EXCEEDED', 'the command arrived after its deadline'));

    let work: (signal: AbortSignal, onProgress: (p: v1.Progress) => void) => Promise<Pick<v1.CommandResult, 'snapshot' | 'restore' | 'validation'>>;
    if (cmd.action === 'backup' && cmd.backup) {
      const b = cmd.backup;
      const source = this.deps.sources.get(b.source?.name ?? '');
      if (b.source?.host && b.source.host !== this.deps.host) return refuse(new AgentError('PERMISSION_DENIED', `this agent is ${this.deps.host}, not ${b.source.host}`));
      if (!source || (b.source?.kind && b.source.kind !== source.kind)) {
        return refuse(new AgentError('NOT_FOUND', `no ${b.source?.kind ?? ''} source named ${JSON.stringify(b.source?.name ?? '')} on ${this.deps.host}; configured: ${[...this.deps.sources.keys()].join(', ') || 'none'}`));
      }
      const mode = (b.mode || 'BACKUP_MODE_UNSPECIFIED') as BackupModeName;
      work = async (signal, onProgress) => {
        const queued = source.backup(mode, { commandId: id, reason: 'command', onProgress }, b.variant);
        const onAbort = (): void => queued.cancel(messageOf(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          return { snapshot: await queued.result };
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      };
    } else if (cmd.action === 'restore' && cmd.restore) {
      const r = cmd.restore;
      work = async (signal, onProgress) => ({ restore: await this.deps.restore(r, { signal, onProgress }) });
    } else if (cmd.action === 'validate' && cmd.validate) {
      const v = cmd.validate;
      work = async (signal, onProgress) => ({ validation: await this.deps.validate(v, { signal, onProgress }) });
    } else {
      return refuse(new AgentError('INVALID_ARGUMENT', `this agent does not know the command ${JSON.stringify(cmd.action ?? 'none')}; upgrade it`));
    }

    const controller = new AbortController();
    let deadlineTimer: TimerHandle | undefined;
    if (deadline > 0) {
      deadlineTimer = this.deps.clock.setTimeout(() => controller.abort(new AgentError('DEADLINE_EXCEEDED', 'the command ran past its deadline')), deadline - this.deps.clock.now());
    }
    let lastProgress = 0;
    const onProgress = (p: v1.Progress): void => {
      const now = this.deps.clock.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS && p.phase !== 'committing') return;
      lastProgress = now;
      this.deps.send({ progress: { commandId: id, progress: p } });
    };
    this.ack(id, true);
    log.info('command accepted');
    const done = (async () => {
      try {
        const outcome = await work(controller.signal, onProgress);
        this.deps.send({ result: { commandId: id, ...outcome } }, true);
        log.info('command succeeded');
      } catch (err) {
        const reason = controller.signal.aborted ? controller.signal.reason : err;
        const failure = failureOf(reason);
        this.deps.send({ result: { commandId: id, failure } }, true);
        (codeOf(reason) === 'CANCELLED' ? log.info.bind(log) : log.warn.bind(log))({ code: failure.code, err: failure.message }, 'command failed');
      } finally {
        if (deadlineTimer !== undefined) this.deps.clock.clearTimeout(deadlineTimer);
        this.running.delete(hex);
      }
    })();
    this.running.set(hex, { kind: cmd.action, cancel: (reason) => controller.abort(reason), done });
  }

  cancel(c: v1.CancelCommand__Output): void {
    const hex = c.commandId.toString('hex');
    const r = this.running.get(hex);
    if (!r) return;
    this.deps.log.info({ command: hex, reason: c.reason }, 'command cancelled by the coordinator');
    r.cancel(new AgentError('CANCELLED', c.reason ? `cancelled: ${c.reason}` : 'cancelled by the coordinator'));
  }

  /** Refuses new commands from now on. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves once every running command has sent its result (or `ms` passed); returns whether all finished. */
  async drain(ms: number): Promise<boolean> {
    const all = Promise.all([...this.running.values()].map((r) => r.done)).then(() => true);
    let timer: TimerHandle | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.deps.clock.setTimeout(() => resolve(false), ms);
    });
    const finished = await Promise.race([all, timeout]);
    if (timer !== undefined) this.deps.clock.clearTimeout(timer);
    return finished;
  }

  cancelAll(reason: string): Promise<void> {
    for (const r of this.running.values()) r.cancel(new AgentError('CANCELLED', reason));
    return Promise.all([...this.running.values()].map((r) => r.done)).then(() => undefined);
  }

  private ack(id: Buffer, accepted: boolean): void {
    this.deps.send({ ack: { commandId: id, accepted } });
  }
}
