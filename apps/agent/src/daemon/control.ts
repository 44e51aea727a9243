/**
 * The Control stream (agent.proto): opened at start and kept open, AgentHello
 * first on every connection (with the commands still running, so the
 * coordinator re-attaches them instead of starting them again), then acks,
 * progress and results going up and commands coming down. When the
 * coordinator goes away the stream is reopened with exponential backoff and
 * jitter; results finished while it was away are sent after the next hello.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { v1 } from '@pbk/protocol';
import { type Clock, type TimerHandle } from '../clock.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from '../wire/backoff.js';
import type { AgentRpc } from '../wire/client.js';

export interface ControlDeps {
  rpc: Pick<AgentRpc, 'control'>;
  clock: Clock;
  log: Logger;
  backoff?: BackoffOptions;
  hello(): v1.AgentHello;
  onCommand(cmd: v1.Command__Output): void;
  onCancel(cancel: v1.CancelCommand__Output): void;
}

/**
 * A stream still open this long after it was opened counts as up (the
 * coordinator sends nothing until it has a command, so there may be no
 * headers to wait for): the backoff starts again from its first step.
 */
const UP_AFTER_MS = 3000;

/** Results kept for delivery while the stream is down; beyond this the oldest are dropped (and logged). */
const MAX_OUTBOX = 1000;

export class ControlChannel {
  private call: ClientDuplexStream<v1.AgentMessage, v1.CoordinatorMessage__Output> | undefined;
  private readonly backoff: Backoff;
  private reconnectTimer: TimerHandle | undefined;
  private stopped = true;
  private readonly outbox: v1.AgentMessage[] = [];
  private everConnected = false;
  private downSince: number | undefined;

  constructor(private readonly deps: ControlDeps) {
    this.backoff = new Backoff(deps.backoff);
  }

  get connected(): boolean {
    return this.call !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /**
   * Sends a message on the open stream. Results (`durable`) are kept and sent
   * after the next hello when the stream is down; acks and progress are not.
   */
  send(msg: v1.AgentMessage, durable = false): void {
    const call = this.call;
    if (call === undefined || call.destroyed || call.writableEnded) {
      if (durable) {
        this.outbox.push(msg);
        if (this.outbox.length > MAX_OUTBOX) {
          this.outbox.shift();
          this.deps.log.warn({ kept: MAX_OUTBOX }, 'control stream down too long; dropped the oldest command result');
        }
      }
      return;
    }
    // Small messages; grpc-js buffers them. Flow control matters for bulk data only.
    call.write(msg);
  }

  /**
   * Another call just reached the coordinator (a heartbeat, a BeginBackup):
   * if the stream is waiting out its backoff, reconnect now instead, so
   * commands flow again as soon as the coordinator is back.
   */
  nudge(): void {
    if (this.stopped || this.call !== undefined || this.reconnectTimer === undefined) return;
    this.deps.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) this.deps.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
  }

  private connect(): void {
    if (this.stopped) return;
    const { log } = this.deps;
    const call = this.deps.rpc.control();
    this.call = call;
    let closed = false;
    let up = false;
    const onUp = (): void => {
      if (up || closed) return;
      up = true;
      this.deps.clock.clearTimeout(upTimer);
      this.backoff.reset();
      if (this.downSince !== undefined || !this.everConnected) {
        log.info({ after: this.downSince === undefined ? undefined : this.deps.clock.now() - this.downSince }, this.everConnected ? 'control stream reconnected' : 'control stream open');
      }
      this.everConnected = true;
      this.downSince = undefined;
    };
    const upTimer = this.deps.clock.setTimeout(onUp, UP_AFTER_MS);
    const onClosed = (why: string): void => {
      if (closed) return;
      closed = true;
      this.deps.clock.clearTimeout(upTimer);
      if (this.call === call) this.call = undefined;
      if (this.stopped) return;
      this.downSince ??= this.deps.clock.now();
      const wait = this.backoff.next();
      (this.backoff.attempts <= 1 ? log.warn.bind(log) : log.debug.bind(log))({ why, retryInMs: wait }, 'control stream closed; reconnecting');
      this.reconnectTimer = this.deps.clock.setTimeout(() => {
        this.reconnectTimer = undefined;
        this.connect();
      }, wait);
    };
    call.on('metadata', onUp);
    call.on('data', (msg: v1.CoordinatorMessage__Output) => {
      onUp();
      try {
        if (msg.msg === 'command' && msg.command) this.deps.onCommand(msg.command);
        else if (msg.msg === 'cancel' && msg.cancel) this.deps.onCancel(msg.cancel);
      } catch (err) {
        log.error({ err: messageOf(err) }, 'handling a coordinator message failed');
      }
    });
    call.on('error', (err) => onClosed(messageOf(err)));
    call.on('end', () => {
      call.end();
      onClosed('the coordinator ended the stream');
    });
    // Results waiting in the outbox count as running: the coordinator keeps those commands and gets the result next.
    const hello = this.deps.hello();
    const queued = this.outbox.flatMap((m) => (m.result?.commandId ? [Buffer.from(m.result.commandId as Uint8Array)] : []));
    call.write({ hello: { ...hello, runningCommandIds: [...(hello.runningCommandIds ?? []), ...queued] } });
    for (const msg of this.outbox.splice(0)) call.write(msg);
  }
}
