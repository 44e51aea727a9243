/**
 * The daemon (`pbk-agent run`): one gRPC channel over mutual TLS, the
 * heartbeat loop, the Control stream and its command executor, and one
 * FilesSource per configured source. start() brings them up; stop() is the
 * graceful shutdown SIGTERM asks for: triggers stop, running work gets
 * shutdownGraceMs to finish, then is cancelled (runs are aborted on the
 * coordinator, which releases their claims), then the channel closes.
 */
import type { v1 } from '@pbk/protocol';
import { sleep, type Clock } from '../clock.js';
import type { AgentConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { AGENT_VERSION } from '../version.js';
import type { BackoffOptions } from '../wire/backoff.js';
import type { AgentRpc } from '../wire/client.js';
import { CommandExecutor } from './commands.js';
import { ControlChannel } from './control.js';
import { HeartbeatLoop } from './heartbeat.js';
import { createSource, restoreByKind, validateByKind, type KindDeps } from './kinds.js';
import type { AgentSource } from './source.js';
import { startLocalApi, type LocalApi } from '../local-api/server.js';
import { osUserIds } from '../local-api/os-user.js';

export interface AgentDeps {
  config: AgentConfig;
  host: string;
  rpc: AgentRpc;
  clock: Clock;
  log: Logger;
  backoff?: BackoffOptions;
}

export class Agent {
  private readonly sources = new Map<string, AgentSource>();
  private readonly control: ControlChannel;
  private readonly heartbeat: HeartbeatLoop;
  private readonly commands: CommandExecutor;
  /**
   * The repository id-key, learnt from BeginBackup and kept in memory only:
   * restores need it to check downloaded blobs against their ids.
   */
  private idKey: Buffer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;
  /** The local socket for wal-push / wal-fetch; only with a PostgreSQL source. */
  private localApi: LocalApi | undefined;

  constructor(private readonly deps: AgentDeps) {
    const { config, host, rpc, clock, log } = deps;
    this.log = log.child({ component: 'agent' });
    const learnIdKey = (key: Buffer): void => {
      this.idKey = Buffer.from(key);
    };
    const kinds: KindDeps = {
      backup: {
        rpc,
        clock,
        log: log.child({ component: 'backup' }),
        host,
        workers: config.workers,
        resumeWindowMs: config.resumeWindowMs,
        ...(deps.backoff ? { backoff: deps.backoff } : {}),
        onIdKey: learnIdKey,
        onContact: () => this.control.nudge(),
      },
      restore: { rpc, clock, log: log.child({ component: 'restore' }), idKey: () => this.idKey, onIdKey: learnIdKey },
      clock,
      log,
      stateDir: config.stateDir,
      rpc,
      localSocket: config.localSocket,
      walReadAhead: (h, s, f) => this.localApi?.readAhead(h, s, f),
      walSpool: (h, s, d, o) => this.localApi?.spool(h, s, d, o),
    };
    for (const source of config.sources) this.sources.set(source.name, createSource(source, kinds));
    this.control = new ControlChannel({
      rpc,
      clock,
      log: log.child({ component: 'control' }),
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
      hello: () => ({
        agentVersion: AGENT_VERSION,
        sources: [...this.sources.values()].map((s) => ({ host, kind: s.kind, name: s.name })),
        runningCommandIds: this.commands.runningIds(),
      }),
      onCommand: (cmd) => this.commands.handle(cmd),
      onCancel: (c) => this.commands.cancel(c),
    });
    this.commands = new CommandExecutor({
      host,
      sources: this.sources,
      restore: (cmd, run) => restoreByKind(kinds, this.sources, cmd, run),
      validate: (cmd, run) => validateByKind(kinds, this.sources, cmd, run),
      send: (msg, durable) => this.control.send(msg, durable),
      clock,
      log: log.child({ component: 'commands' }),
    });
    this.heartbeat = new HeartbeatLoop({
      rpc,
      clock,
      log: log.child({ component: 'heartbeat' }),
      version: AGENT_VERSION,
      intervalMs: config.heartbeatIntervalMs,
      sources: () => [...this.sources.values()].map((s) => s.health(host)),
      onBeat: (ok) => {
        if (!ok) return;
        this.control.nudge();
        for (const s of this.sources.values()) s.coordinatorBack();
      },
    });
  }

  async start(): Promise<void> {
    const { host, config } = this.deps;
    const { log } = this;
    log.info({ host, version: AGENT_VERSION, sources: [...this.sources.keys()], config: config.file }, 'agent starting');
    this.heartbeat.start();
    this.control.start();
    await this.startLocalApi();
    for (const s of this.sources.values()) await s.start();
    log.info('agent running');
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { config } = this.deps;
    const { log } = this;
    log.info({ graceMs: config.shutdownGraceMs }, 'agent stopping');
    this.commands.stopAccepting();
    await Promise.all([...this.sources.values()].map((s) => s.stopTriggers()));
    const idle = Promise.all([...this.sources.values()].map((s) => s.idle()));
    const grace = new AbortController();
    const finished = await Promise.race([
      Promise.all([idle, this.commands.drain(config.shutdownGraceMs)]).then(([, d]) => d),
      sleep(this.deps.clock, config.shutdownGraceMs, grace.signal).then(
        () => false,
        () => false,
      ),
    ]);
    grace.abort();
    if (!finished) {
      log.warn('work still running after the grace period; cancelling it');
      for (const s of this.sources.values()) s.cancelRuns('the agent is stopping');
      await this.commands.cancelAll('the agent is stopping');
      await Promise.all([...this.sources.values()].map((s) => s.idle()));
    }
    await this.localApi?.close().catch(() => undefined);
    this.heartbeat.stop();
    this.control.stop();
    this.deps.rpc.close();
    log.info('agent stopped');
  }

  /**
   * PostgreSQL runs wal-push / wal-fetch as its own OS user: they reach the
   * daemon over a unix socket owned by that user's group. A restore onto a
   * host without a PostgreSQL source does not start it (no source, no WAL).
   */
  private async startLocalApi(): Promise<void> {
    const pgSources = this.deps.config.sources.filter((s) => s.kind === 'postgres');
    if (pgSources.length === 0) return;
    const osUser = pgSources[0]!.osUser;
    const ids = await osUserIds(osUser);
    if (ids === undefined) this.log.warn({ osUser }, 'OS user not found: the local socket keeps the agent\'s group, so wal-push/wal-fetch work only as root');
    this.localApi = await startLocalApi({
      socketPath: this.deps.config.localSocket,
      gid: ids?.gid,
      rpc: this.deps.rpc,
      log: this.deps.log,
      walTarget: (name) => {
        // "_" = the only PostgreSQL source (wal-push without --source).
        const pick = name === '_' && pgSources.length === 1 ? pgSources[0]!.name : name;
        const s = this.sources.get(pick);
        return s?.kind === 'SOURCE_KIND_POSTGRES' ? s.walPushTarget?.() : undefined;
      },
    });
  }

  /** For tests and status: the health the next heartbeat will report. */
  health(): v1.SourceHealth[] {
    return [...this.sources.values()].map((s) => s.health(this.deps.host));
  }
}
