/**
 * Everything the services share, built once by coordinator.ts: one
 * repository (single writer), one catalog, the registries, the clock.
 */
import type { Logger, Repository } from '@pbk/storage';
import type { Alerter } from './alerts.js';
import type { Auditor } from './audit.js';
import type { Authorizer } from './auth.js';
import type { BlobStore } from './blob-store.js';
import type { Catalog } from './catalog/index.js';
import type { CompiledServeConfig } from './config.js';
import type { ControlHub } from './control.js';
import type { RestoreGrants } from './grants.js';
import type { Maintenance } from './maintenance.js';
import type { Metrics } from './metrics.js';
import type { RunRegistry } from './runs.js';
import type { ReferenceCache } from './snapshot-access.js';

export interface ServiceContext {
  config: CompiledServeConfig;
  logger: Logger;
  version: string;
  catalog: Catalog;
  repo: Repository;
  store: BlobStore;
  /** Compaction and WAL manifest backfill: on an interval, and OperatorService.CompactRepository. */
  maintenance: Maintenance;
  runs: RunRegistry;
  hub: ControlHub;
  grants: RestoreGrants;
  auth: Authorizer;
  auditor: Auditor;
  metrics: Metrics;
  alerts: Alerter;
  refs: ReferenceCache;
  tls: { caPem: string; caKeyPem: string; caFingerprint: string };
  tokenKey: Buffer;
  /** DIR/revoked-tokens.jsonl (`token --revoke`). */
  revokedTokensPath: string;
}
