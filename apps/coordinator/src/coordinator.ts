/**
 * A running coordinator: the repository (single writer), the catalog, the
 * registries, the services, and its three listeners:
 *   - main (gRPC, mutual TLS, client certificate required in the handshake):
 *     AgentService + OperatorService, with reflection;
 *   - enrollment (gRPC, TLS without client certificates): EnrollmentService only;
 *   - HTTP: /health and /metrics.
 * `startCoordinator` builds it from a compiled config; `close()` shuts it down
 * in order: streams end, calls drain (bounded), the repository is flushed,
 * the audit log drained, the catalog closed.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { readKeyFile } from '@pbk/crypto';
import { addReflection, certificateFingerprint, loadProtocol, serverCredentials, serverOptions, SERVICE_NAMES, widenReceiveWindow } from '@pbk/protocol';
import { LocalBackend, Repository, wrapBackend, type Logger } from '@pbk/storage';
import { Auditor } from './audit.js';
import { CoordinatorError } from './errors.js';
import { Authorizer } from './auth.js';
import { BlobStore } from './blob-store.js';
import { openCatalog, redactUrl, type Catalog } from './catalog/index.js';
import { formatHostPort, type CompiledServeConfig, type ServeState } from './config.js';
import type { ServiceContext } from './context.js';
import { ControlHub } from './control.js';
import { RestoreGrants } from './grants.js';
import { createHttpServer, type HealthReport } from './http.js';
import { Metrics } from './metrics.js';
import { Alerter } from './alerts.js';
import { Maintenance } from './maintenance.js';
import { RunRegistry } from './runs.js';
import { agentService } from './services/agent.js';
import { enrollmentService } from './services/enrollment.js';
import { operatorService } from './services/operator.js';
import { ReferenceCache } from './snapshot-access.js';
import { coordinatorVersion } from './version.js';
import { isProcessRunning } from './util/process.js';

export interface RunningCoordinator {
  state: ServeState;
  catalogKind: 'embedded' | 'postgres';
  close(): Promise<void>;
}

/** How often idle runs are looked for. */
const SWEEP_INTERVAL_MS = 60_000;
/**
 * Index objects are written only by flushes, which this process serializes
 * (blob-store.ts); each upload stream ends with one, so at most one stream's
 * worth of packs is ever unindexed. The Repository's own periodic index write
 * would run outside that serialization.
 */
const PACKS_PER_INDEX = Number.MAX_SAFE_INTEGER;
/**
 * Packs written (and fsynced) at once while the next one fills. With one, every
 * upload stream stopped while a 32 MiB pack was written: on a 1 GiB first backup
 * the agent sat idle for ~0.5 s in bursts (bench/RESULTS.md, session 8). Each
 * costs one pack buffer (PackBuffers) of memory.
 */
const MAX_PACK_WRITES = 2;

export async function startCoordinator(config: CompiledServeConfig, rootLogger: Logger & { child(b: object): Logger }): Promise<RunningCoordinator> {
  const logger = rootLogger.child({ component: 'coordinator' });
  const { paths } = config;
  const caPem = await readText(paths.caCert);
  const caKeyPem = await readText(paths.caKey);
  const certPem = await readText(paths.serverCert);
  const keyPem = await readText(paths.serverKey);
  const tokenKey = await readKeyFile(paths.tokenKey);
  const kek = await readKeyFile(paths.kek);
  // One writer per repository (decision 5): DIR/serve.json, created exclusively, is also the lock.
  await claimServeState(paths.serveState);

  let catalog: Catalog;
  try {
    catalog = await openCatalog({ url: config.catalogUrl, dir: paths.catalog, logger: rootLogger.child({ component: 'catalog' }), now: config.now });
  } catch (err) {
    await rm(paths.serveState, { force: true });
    throw err;
  }
  const cleanups: (() => Promise<void> | void)[] = [() => rm(paths.serveState, { force: true }), () => catalog.close()];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  };
  try {
    const auditor = new Auditor(catalog, rootLogger.child({ component: 'audit' }));
    const repo = await Repository.open(wrapBackend(new LocalBackend(paths.repository)), { kind: 'key', key: kek }, {
      packTargetBytes: config.packTargetBytes,
      packsPerIndex: PACKS_PER_INDEX,
      maxPackWrites: MAX_PACK_WRITES,
      now: config.now,
      logger: rootLogger.child({ component: 'repository' }),
      onKeyAccess: (e) => auditor.keyAccess(e),
    });
    if (repo.damagedIndexObjects.length > 0) logger.warn({ damaged: repo.damagedIndexObjects.length }, 'damaged index objects skipped: run pbk verify');
    const metrics = new Metrics();
    const alerts = new Alerter(config.mqtt, rootLogger.child({ component: 'alerts' }), config.now);
    alerts.start();
    cleanups.push(() => alerts.close());
    const store = new BlobStore(repo, undefined, rootLogger.child({ component: 'blob-store' }));
    cleanups.push(() => store.close());
    const maintenance = new Maintenance(
      { repo, store, catalog, metrics, logger: rootLogger.child({ component: 'maintenance' }) },
      { ...config.maintenance, packTargetBytes: config.packTargetBytes },
    );
    const runs = new RunRegistry({ catalog, repo, metrics, logger: rootLogger.child({ component: 'runs' }), now: config.now, idleTimeoutMs: config.runIdleTimeoutMs });
    const leftover = await runs.adoptLeftovers();
    if (leftover > 0) logger.info({ runs: leftover }, 'backup runs left open by an earlier process can be resumed');
    const hub = new ControlHub({
      logger: rootLogger.child({ component: 'control' }),
      now: config.now,
      reconnectGraceMs: config.agentReconnectGraceMs,
      ackTimeoutMs: config.commandAckTimeoutMs,
    });
    const ctxBase = {
      config,
      version: coordinatorVersion(),
      catalog,
      repo,
      store,
      maintenance,
      runs,
      hub,
      grants: new RestoreGrants(),
      auth: new Authorizer(await catalog.agents.revokedSerials()),
      auditor,
      metrics,
      alerts,
      refs: new ReferenceCache(repo, config.referencedCacheSnapshots),
      tls: { caPem, caKeyPem, caFingerprint: certificateFingerprint(caPem) },
      tokenKey,
      revokedTokensPath: paths.revokedTokens,
    };
    const ctx = (component: string): ServiceContext => ({ ...ctxBase, logger: rootLogger.child({ component }) });

    const pbk = loadProtocol();
    const main = new Server(serverOptions());
    main.addService(pbk.AgentService.service, agentService(ctx('agent-service')));
    main.addService(pbk.OperatorService.service, operatorService(ctx('operator-service')));
    addReflection(main, [SERVICE_NAMES.agent, SERVICE_NAMES.operator], pbk);
    const enroll = new Server(serverOptions());
    enroll.addService(pbk.EnrollmentService.service, enrollmentService(ctx('enrollment-service')));
    addReflection(enroll, [SERVICE_NAMES.enrollment], pbk);

    const grpcPort = await bind(main, config.listen, serverCredentials({ caPem, certPem, keyPem, requireClientCert: true }));
    if (!widenReceiveWindow(main)) logger.warn({}, 'could not widen the HTTP/2 receive window (grpc-js changed?): uploads run with the 64 KiB default');
    cleanups.push(() => main.forceShutdown());
    const enrollPort = await bind(enroll, config.enrollListen, serverCredentials({ caPem, certPem, keyPem, requireClientCert: false }));
    cleanups.push(() => enroll.forceShutdown());

    const http = createHttpServer(
      {
        health: () => health(catalog, repo),
        metrics: async () =>
          metrics.render({
            now: config.now(),
            connectedAgents: hub.connectedCount,
            openRuns: runs.size,
            latestSnapshots: await catalog.snapshots.latestPerSource(),
            repository: { blobs: repo.index.blobCount, packs: repo.index.packCount, storedBytes: store.storedBytes() },
            alerts: alerts.counts,
            heartbeats: hub.heartbeats(),
          }),
      },
      rootLogger.child({ component: 'http' }),
    );
    const httpAddr = splitHostPort(config.http);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(httpAddr.port, httpAddr.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const httpPort = (http.address() as AddressInfo).port;

    const state: ServeState = {
      pid: process.pid,
      grpc: formatHostPort(splitHostPort(config.listen).host, grpcPort),
      enroll: formatHostPort(splitHostPort(config.enrollListen).host, enrollPort),
      http: formatHostPort(httpAddr.host, httpPort),
      ports: { grpc: grpcPort, enroll: enrollPort, http: httpPort },
    };
    await writeFile(paths.serveState, JSON.stringify(state, null, 2) + '\n');

    const sweeper = setInterval(() => {
      runs.sweep().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'run sweep failed'));
    }, SWEEP_INTERVAL_MS);
    sweeper.unref();
    maintenance.start();

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        clearInterval(sweeper);
        await maintenance.stop().catch(() => undefined);
        // Agents' Control streams would hold tryShutdown open forever: end them first.
        hub.close();
        await Promise.all([shutdown(main, config.shutdownGraceMs), shutdown(enroll, config.shutdownGraceMs), new Promise<void>((resolve) => http.close(() => resolve()))]);
        http.closeAllConnections?.();
        try {
          await store.flush();
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'final repository flush failed (nothing unacknowledged is lost by this)');
        }
        await store.close();
        await auditor.drain();
        await alerts.close();
        await catalog.close();
        await rm(paths.serveState, { force: true });
      })());
    logger.info({ catalog: catalog.db.kind, catalogLocation: catalog.db.kind === 'postgres' ? redactUrl(catalog.db.location) : catalog.db.location, blobs: repo.index.blobCount, packs: repo.index.packCount }, 'repository and catalog open');
    return { state, catalogKind: catalog.db.kind, close };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Creates DIR/serve.json exclusively (filled in once the ports are known).
 * An existing one whose process still runs means another serve owns this
 * directory: refused. One left by a process that died is taken over.
 */
async function claimServeState(path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify({ pid: process.pid }) + '\n', { flag: 'wx', mode: 0o644 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid: unknown;
    try {
      pid = (JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown }).pid;
    } catch {
      pid = undefined;
    }
    if (typeof pid === 'number' && pid !== process.pid && isProcessRunning(pid)) {
      throw new CoordinatorError(
        'FAILED_PRECONDITION',
        `another pbk-coordinator (pid ${pid}) is serving this data directory: one writer per repository; stop it first (if no such process runs, remove ${path})`,
      );
    }
    await rm(path, { force: true });
  }
  throw new CoordinatorError('FAILED_PRECONDITION', `${path} keeps reappearing: another pbk-coordinator is starting on this data directory`);
}

async function health(catalog: Catalog, repo: Repository): Promise<HealthReport> {
  const report: HealthReport = { ok: false, repository: { ok: false }, catalog: { ok: false, kind: catalog.db.kind } };
  try {
    // The config object: a missing or unmounted repository volume fails here.
    await repo.backend.stat('config');
    report.repository = { ok: true, blobs: repo.index.blobCount, packs: repo.index.packCount };
  } catch (err) {
    report.repository = { ok: false, detail: (err as Error).message };
  }
  try {
    await catalog.db.query('SELECT 1');
    report.catalog = { ok: true, kind: catalog.db.kind };
  } catch (err) {
    report.catalog = { ok: false, kind: catalog.db.kind, detail: (err as Error).message };
  }
  report.ok = report.repository.ok && report.catalog.ok;
  return report;
}

function bind(server: Server, address: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => (err ? reject(new Error(`cannot listen on ${address}: ${err.message}`)) : resolve(port)));
  });
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(i + 1)) };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}; is this a data directory made by 'pbk-coordinator init'?`, { cause: err });
  }
}
