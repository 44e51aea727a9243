/**
 * The Control stream registry: one open stream per enrolled host, and the
 * commands the coordinator sent over them.
 *
 * An agent opens `Control`, says `hello`, and keeps the stream open. Operator
 * calls (StartBackup, Restore) send a `Command` to the host's stream and read
 * its ack, progress and one result from a PendingCommand. Commands outlive a
 * reconnect: when the agent comes back and lists the command in
 * `hello.running_command_ids`, the same PendingCommand carries on; when it
 * comes back without it, or not at all within the grace period, the command
 * fails UNAVAILABLE. A newer stream from the same host replaces the older one.
 */
import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { writeMessage, isErrorCode, type v1 } from '@pbk/protocol';
import type { Logger } from '@pbk/storage';
import { CoordinatorError } from './errors.js';
import { AsyncQueue } from './util/queue.js';

export type ControlCall = ServerDuplexStream<v1.AgentMessage__Output, v1.CoordinatorMessage>;

export type CommandEvent =
  | { kind: 'ack'; ack: v1.CommandAck__Output }
  | { kind: 'progress'; progress: v1.Progress__Output }
  | { kind: 'result'; result: v1.CommandResult__Output };

export interface AgentSession {
  readonly host: string;
  readonly call: ControlCall;
  readonly hello: v1.AgentHello__Output;
  readonly connectedAt: Date;
}

export interface ControlHubOptions {
  logger: Logger;
  now: () => Date;
  /** How long an agent may be away before its running commands are declared lost. */
  reconnectGraceMs: number;
  /** How long an agent has to acknowledge a command. */
  ackTimeoutMs: number;
}

/** A command sent to an agent. Its events can be followed by one consumer at a time. */
export class PendingCommand {
  readonly hex: string;
  acked = false;
  done = false;
  #queue: AsyncQueue<CommandEvent> | undefined;
  #timers = new Set<NodeJS.Timeout>();
  #onDone: (() => void)[] = [];

  constructor(
    readonly id: Buffer,
    readonly host: string,
    readonly action: 'backup' | 'restore' | 'validate',
  ) {
    this.hex = id.toString('hex');
  }

  /**
   * Events from now on; the iteration ends after the result, or throws when
   * the command is lost. When the follower stops early (wait=false, an
   * operator's Ctrl-C), later events are dropped: the command carries on.
   */
  async *follow(signal?: AbortSignal): AsyncGenerator<CommandEvent> {
    const queue = new AsyncQueue<CommandEvent>();
    this.#queue = queue;
    if (this.done) queue.close();
    const onAbort = (): void => queue.fail(new CoordinatorError('CANCELLED', 'the caller stopped following the command'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      yield* queue;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.#queue === queue) this.#queue = undefined;
    }
  }

  /** Runs `fn` once the command has finished, however it finished. */
  onDone(fn: () => void): void {
    if (this.done) fn();
    else this.#onDone.push(fn);
  }

  deliver(event: CommandEvent): void {
    if (this.done) return;
    if (event.kind === 'ack') this.acked = true;
    this.#queue?.push(event);
    if (event.kind === 'result') this.finish();
  }

  fail(err: CoordinatorError): void {
    if (this.done) return;
    this.#queue?.fail(err);
    this.finish();
  }

  timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  private finish(): void {
    this.done = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue?.close();
    for (const fn of this.#onDone.splice(0)) fn();
  }
}

export class ControlHub {
  readonly #sessions = new Map<string, AgentSession>();
  readonly #commands = new Map<string, PendingCommand>();
  readonly #lostTimers = new Map<string, NodeJS.Timeout>();
  readonly #health = new Map<string, { at: Date; sources: v1.SourceHealth__Output[] }>();
  #closed = false;

  constructor(private readonly opts: ControlHubOptions) {}

  get connectedCount(): number {
    return this.#sessions.size;
  }

  isConnected(host: string): boolean {
    return this.#sessions.has(host);
  }

  session(host: string): AgentSession | undefined {
    return this.#sessions.get(host);
  }

  sessions(): AgentSession[] {
    return [...this.#sessions.values()];
  }

  recordHealth(host: string, sources: v1.SourceHealth__Output[]): void {
    this.#health.set(host, { at: this.opts.now(), sources });
  }

  health(host: string): { at: Date; sources: v1.SourceHealth__Output[] } | undefined {
    return this.#health.get(host);
  }

  /** Every host's last heartbeat (metrics). */
  heartbeats(): { host: string; at: Date; sources: v1.SourceHealth__Output[] }[] {
    return [...this.#health].map(([host, h]) => ({ host, ...h }));
  }

  /** A stream said hello: it becomes the host's session. */
  attach(host: string, call: ControlCall, hello: v1.AgentHello__Output): AgentSession {
    if (this.#closed) throw new CoordinatorError('UNAVAILABLE', 'the coordinator is shutting down; reconnect later');
    const previous = this.#sessions.get(host);
    const session: AgentSession = { host, call, hello, connectedAt: this.opts.now() };
    this.#sessions.set(host, session);
    if (previous !== undefined && previous.call !== call) {
      this.opts.logger.info({ host }, 'a newer control stream replaces the open one');
      previous.call.end();
    }
    const running = new Set(hello.runningCommandIds.map((id) => id.toString('hex')));
    for (const cmd of this.#commands.values()) {
      if (cmd.host !== host) continue;
      const t = this.#lostTimers.get(cmd.hex);
      if (t !== undefined) {
        clearTimeout(t);
        this.#lostTimers.delete(cmd.hex);
      }
      // Sent before this stream existed and not reported as running: the agent lost it (restart).
      if (!running.has(cmd.hex)) {
        this.#lose(cmd, `agent ${host} reconnected without command ${cmd.hex}: it restarted and the ${cmd.action} did not finish; run it again`);
      }
    }
    this.opts.logger.info({ host, agentVersion: hello.agentVersion, sources: hello.sources.length, running: running.size }, 'agent connected');
    return session;
  }

  /** The session's stream ended: its commands get the grace period to reappear. */
  detach(session: AgentSession): void {
    if (this.#sessions.get(session.host) !== session) return;
    this.#sessions.delete(session.host);
    this.opts.logger.info({ host: session.host }, 'agent disconnected');
    for (const cmd of this.#commands.values()) {
      if (cmd.host !== session.host || this.#lostTimers.has(cmd.hex)) continue;
      const t = setTimeout(() => {
        this.#lostTimers.delete(cmd.hex);
        this.#lose(cmd, `agent ${session.host} went away during the ${cmd.action} and did not come back within ${Math.round(this.opts.reconnectGraceMs / 1000)} s; check pbk-agent on ${session.host}`);
      }, this.opts.reconnectGraceMs);
      t.unref();
      this.#lostTimers.set(cmd.hex, t);
    }
  }

  /** An ack, progress or result from a session. Messages about another host's commands are ignored. */
  receive(session: AgentSession, msg: v1.AgentMessage__Output): void {
    const event: CommandEvent | undefined =
      msg.msg === 'ack' && msg.ack
        ? { kind: 'ack', ack: msg.ack }
        : msg.msg === 'progress' && msg.progress?.progress
          ? { kind: 'progress', progress: msg.progress.progress }
          : msg.msg === 'result' && msg.result
            ? { kind: 'result', result: msg.result }
            : undefined;
    if (event === undefined) {
      this.opts.logger.warn({ host: session.host, msg: msg.msg }, 'ignoring an unexpected control message');
      return;
    }
    const id = event.kind === 'ack' ? event.ack.commandId : event.kind === 'progress' ? msg.progress!.commandId : event.result.commandId;
    const cmd = this.#commands.get(id.toString('hex'));
    if (cmd === undefined || cmd.host !== session.host) {
      this.opts.logger.warn({ host: session.host, command: id.toString('hex'), kind: event.kind }, 'control message for an unknown command');
      return;
    }
    cmd.deliver(event);
  }

  /**
   * Sends a command to the host's agent. Fails UNAVAILABLE when the host has
   * no open stream; the returned command fails DEADLINE_EXCEEDED when the
   * agent does not ack within the ack timeout.
   */
  async send(host: string, action: { backup: v1.BackupCommand } | { restore: v1.RestoreCommand } | { validate: v1.ValidateCommand }, deadlineUnixMs = 0): Promise<PendingCommand> {
    const session = this.#sessions.get(host);
    if (session === undefined) {
      throw new CoordinatorError('UNAVAILABLE', `the agent of ${host} is not connected: start pbk-agent on ${host} (pbk status shows its last heartbeat)`);
    }
    const kind = 'backup' in action ? 'backup' : 'restore' in action ? 'restore' : 'validate';
    const cmd = new PendingCommand(randomBytes(16), host, kind);
    this.#commands.set(cmd.hex, cmd);
    cmd.onDone(() => {
      this.#commands.delete(cmd.hex);
      const t = this.#lostTimers.get(cmd.hex);
      if (t !== undefined) clearTimeout(t);
      this.#lostTimers.delete(cmd.hex);
    });
    const ackTimer = cmd.timer(this.opts.ackTimeoutMs, () => {
      if (!cmd.acked) {
        cmd.fail(new CoordinatorError('DEADLINE_EXCEEDED', `the agent of ${host} did not acknowledge the ${kind} within ${Math.round(this.opts.ackTimeoutMs / 1000)} s; check pbk-agent's log on ${host}`));
      }
    });
    cmd.onDone(() => cmd.clearTimer(ackTimer));
    const message: v1.CoordinatorMessage = { command: { commandId: cmd.id, deadlineUnixMs: String(deadlineUnixMs), ...action } };
    try {
      await writeMessage(session.call, message);
    } catch (err) {
      cmd.fail(new CoordinatorError('UNAVAILABLE', `the control stream of ${host} closed while sending the ${kind}; try again`, { cause: err }));
      throw err;
    }
    this.opts.logger.info({ host, command: cmd.hex, action: kind }, 'command sent');
    return cmd;
  }

  /** Asks the agent to cancel a command (best effort: the result still arrives). */
  cancel(cmd: PendingCommand, reason: string): void {
    const session = this.#sessions.get(cmd.host);
    if (session === undefined || cmd.done) return;
    session.call.write({ cancel: { commandId: cmd.id, reason } });
  }

  /** Shutdown: every stream ends, every command fails UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const t of this.#lostTimers.values()) clearTimeout(t);
    this.#lostTimers.clear();
    for (const cmd of [...this.#commands.values()]) {
      cmd.fail(new CoordinatorError('UNAVAILABLE', 'the coordinator is shutting down; the command may still finish on the agent (see pbk status after it restarts)'));
    }
    for (const s of this.#sessions.values()) s.call.end();
    this.#sessions.clear();
  }

  #lose(cmd: PendingCommand, message: string): void {
    this.opts.logger.warn({ host: cmd.host, command: cmd.hex }, message);
    cmd.fail(new CoordinatorError('UNAVAILABLE', message));
  }
}

/** A Failure from an agent as an error carrying its code (unknown codes become INTERNAL). */
export function failureError(host: string, failure: v1.Failure__Output | null | undefined): CoordinatorError {
  const code = failure?.code;
  return new CoordinatorError(isErrorCode(code) ? code : 'INTERNAL', `agent ${host}: ${failure?.message || 'the command failed without a reason'}`);
}
