/**
 * `pbk-agent run --config FILE`: the daemon. Reads the config (the only place
 * files and env are read), the state dir's credentials, connects over mutual
 * TLS and runs until SIGTERM/SIGINT, then stops gracefully (a second signal
 * exits at once).
 */
import { loadConfig } from '../config/config.js';
import { Agent } from '../daemon/agent.js';
import { createLogger, type Logger } from '../logger.js';
import { readState } from '../state.js';
import { connectAgentRpc } from '../wire/client.js';
import type { AgentCommand } from './command.js';

export const runCommand: AgentCommand = {
  name: 'run',
  summary: 'run the agent daemon (backups, watching, restores)',
  usage: 'pbk-agent run --config FILE',
  flags: {
    config: { type: 'string', value: 'FILE', description: 'the agent config (YAML; docs/agent-config.md)', required: true },
  },
  async run(io, flags) {
    const config = await loadConfig(String(flags.config));
    const log = createLogger(config.logLevel);
    routeProcessWarnings(log);
    const state = await readState(config.stateDir);
    const target = config.coordinator ?? state.coordinator;
    const rpc = connectAgentRpc({ target, tls: { caPem: state.caPem, certPem: state.certPem, keyPem: state.keyPem }, clock: io.clock });
    const agent = new Agent({ config, host: state.host, rpc, clock: io.clock, log: log.child({ coordinator: target }) });

    let stopping: Promise<void> | undefined;
    const stopped = new Promise<void>((resolve) => {
      io.onStopSignal((signal) => {
        if (stopping) {
          log.warn({ signal }, 'second stop signal: exiting now');
          process.exit(130);
        }
        log.info({ signal }, 'stop signal received');
        stopping = agent.stop().then(resolve);
      });
    });
    await agent.start();
    await stopped;
    return 0;
  },
};

/**
 * Node prints process warnings as plain text on stderr; the daemon's stderr is
 * JSON lines, so they become log lines instead. DEP0123 ("TLS ServerName set
 * to an IP address") comes from grpc-js whenever the coordinator is dialled by
 * IP, is harmless, and is kept at debug.
 */
function routeProcessWarnings(log: Logger): void {
  const wlog = log.child({ component: 'node' });
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code === 'DEP0123') wlog.debug({ code: w.code }, w.message);
    else wlog.warn({ code: w.code, warning: w.name }, w.message);
  });
}
