/** `pbk-agent check-config --config FILE`: validates a config and prints what it means, without connecting. */
import { loadConfig } from '../config/config.js';
import { describePostgresSource } from '../config/postgres.js';
import { describeRedisSource } from '../config/redis.js';
import type { AgentCommand } from './command.js';

export const checkConfigCommand: AgentCommand = {
  name: 'check-config',
  summary: 'validate a config file and print it with the defaults applied',
  usage: 'pbk-agent check-config --config FILE',
  flags: {
    config: { type: 'string', value: 'FILE', description: 'the agent config (YAML)', required: true },
  },
  async run(io, flags) {
    const c = await loadConfig(String(flags.config));
    const now = io.clock.now();
    const view = {
      file: c.file,
      state: c.stateDir,
      coordinator: c.coordinator ?? '(from agent.json)',
      logLevel: c.logLevel,
      workers: c.workers,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      shutdownGraceMs: c.shutdownGraceMs,
      resumeWindowMs: c.resumeWindowMs,
      localSocket: c.sources.some((s) => s.kind === 'postgres') ? c.localSocket : '(not opened: no postgres source)',
      sources: c.sources.map((s) =>
        s.kind === 'postgres' ? describePostgresSource(s, now) : s.kind === 'redis' ? describeRedisSource(s, now) : {
        name: s.name,
        kind: s.kind,
        paths: s.paths,
        exclude: s.exclude,
        schedule: s.schedule ? { cron: s.schedule.text, nextUtc: new Date(s.schedule.next(now) ?? 0).toISOString() } : null,
        watch: s.watch,
        debounceMs: s.debounceMs,
        maxDelayMs: s.maxDelayMs,
        backupOnStart: s.backupOnStart,
      }),
    };
    io.stdout(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  },
};
