/**
 * `pbk-coordinator serve --data DIR [--listen HOST:PORT] [--enroll-listen HOST:PORT] [--http HOST:PORT]`:
 * runs the coordinator until SIGTERM or SIGINT, then shuts down gracefully
 * (streams ended, calls drained, repository flushed, catalog closed). When
 * every listener is bound it prints one JSON log line with `"event":"ready"`
 * and the real addresses (port 0 resolved); DIR/serve.json holds the same.
 */
import { parseFlags, usageOf, type FlagSpecs } from '../args.js';
import { CATALOG_URL_ENV, compileServeConfig, readFileConfig, type ServeOptions } from '../config.js';
import { startCoordinator } from '../coordinator.js';
import type { AppLogger } from '../logging.js';

export const SERVE_FLAGS = {
  data: { value: 'DIR', required: true, help: 'the coordinator data directory (pbk-coordinator init)' },
  listen: { value: 'HOST:PORT', help: 'mutual-TLS gRPC listener for agents and operators (default from coordinator.json, 127.0.0.1:7443)' },
  'enroll-listen': { value: 'HOST:PORT', help: 'TLS listener for EnrollmentService only (default 127.0.0.1:7444)' },
  http: { value: 'HOST:PORT', help: 'HTTP listener for /health and /metrics (default 127.0.0.1:7480)' },
  mqtt: { value: 'URL', help: 'MQTT broker for alerts: mqtts://HOST:8883, or mqtt://127.0.0.1:1883 on this host (default from coordinator.json mqttUrl or $PBK_MQTT_URL; password only from $PBK_MQTT_PASSWORD)' },
} satisfies FlagSpecs;

export const SERVE_USAGE = usageOf('serve', `run the coordinator. Port 0 picks a free port. $${CATALOG_URL_ENV} overrides the catalog URL of coordinator.json.`, SERVE_FLAGS);

export async function runServe(argv: readonly string[], env: NodeJS.ProcessEnv, logger: AppLogger): Promise<void> {
  const flags = parseFlags('serve', SERVE_FLAGS, argv);
  const options: ServeOptions = { dataDir: flags.data };
  if (flags.listen !== undefined) options.listen = flags.listen;
  if (flags['enroll-listen'] !== undefined) options.enrollListen = flags['enroll-listen'];
  if (flags.http !== undefined) options.http = flags.http;
  if (flags.mqtt !== undefined) options.mqttUrl = flags.mqtt;
  const file = await readFileConfig(`${flags.data}/coordinator.json`);
  const config = compileServeConfig(options, file, env);
  const log = logger.child({ component: 'serve' });
  const running = await startCoordinator(config, logger);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean shutdown');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      running.close().then(
        () => {
          log.info({}, 'stopped');
          resolve();
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    log.info(
      {
        event: 'ready',
        grpc: running.state.grpc,
        enroll: running.state.enroll,
        http: running.state.http,
        ports: running.state.ports,
        region: config.region,
        catalog: running.catalogKind,
        dataDir: config.paths.dir,
      },
      'pbk-coordinator ready',
    );
  });
}
