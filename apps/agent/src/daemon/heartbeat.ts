/**
 * Heartbeats: liveness and per-source health for the coordinator's status and
 * failover evidence. The interval is the coordinator's (HeartbeatResponse),
 * bounded to [1 s, 5 min]; the config's heartbeatIntervalMs until it answers.
 * A failed heartbeat is logged once when the coordinator becomes unreachable
 * and once when it is back, not on every beat.
 */
import type { v1 } from '@pbk/protocol';
import type { Clock, TimerHandle } from '../clock.js';
import { codeOf, messageOf } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AgentRpc } from '../wire/client.js';

const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 5 * 60 * 1000;

export interface HeartbeatDeps {
  rpc: Pick<AgentRpc, 'heartbeat'>;
  clock: Clock;
  log: Logger;
  version: string;
  intervalMs: number;
  sources(): v1.SourceHealth[];
  /** Hears the outcome of each beat (the coordinator reachable or not). */
  onBeat?(ok: boolean): void;
}

export class HeartbeatLoop {
  private timer: TimerHandle | undefined;
  private stopped = true;
  private intervalMs: number;
  private failing = false;
  private readonly controller = new AbortController();

  constructor(private readonly deps: HeartbeatDeps) {
    this.intervalMs = deps.intervalMs;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.beat();
  }

  stop(): void {
    this.stopped = true;
    this.controller.abort();
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const { log, clock } = this.deps;
    try {
      const res = await this.deps.rpc.heartbeat({ agentVersion: this.deps.version, agentTimeUnixMs: clock.now(), sources: this.deps.sources() }, this.controller.signal);
      const asked = Number(res.heartbeatIntervalMs);
      if (asked > 0) this.intervalMs = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, asked));
      const skew = Number(res.serverTimeUnixMs) > 0 ? clock.now() - Number(res.serverTimeUnixMs) : 0;
      if (this.failing) log.info({ intervalMs: this.intervalMs }, 'heartbeat: coordinator reachable again');
      if (Math.abs(skew) > 60_000) log.warn({ skewMs: skew }, "this host's clock differs from the coordinator's by over a minute: fix NTP (snapshot times and schedules use it)");
      this.failing = false;
      this.deps.onBeat?.(true);
    } catch (err) {
      if (this.stopped) return;
      if (!this.failing) log.warn({ code: codeOf(err), err: messageOf(err) }, 'heartbeat failed; will keep trying');
      this.failing = true;
      this.deps.onBeat?.(false);
    }
    if (this.stopped) return;
    this.timer = clock.setTimeout(() => void this.beat(), this.intervalMs);
  }
}
