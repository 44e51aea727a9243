/**
 * The catalog as one object: the SQL handle, one store per table family, and
 * transactions that span stores (consume a token + enroll the agent + audit it,
 * all or nothing).
 */
import type { Logger } from '@pbk/storage';
import { openEmbeddedCatalog, openPostgresCatalog, type SqlDb } from './db.js';
import { CatalogError } from './errors.js';
import { migrate } from './migrations.js';
import { AgentRegistry } from './agents.js';
import { EnrollmentTokens } from './tokens.js';
import { BackupRuns } from './runs.js';
import { SnapshotCatalog } from './snapshots.js';
import { AuditLog } from './audit.js';
import { WalCatalog } from './wal.js';

export interface CatalogStores {
  agents: AgentRegistry;
  tokens: EnrollmentTokens;
  runs: BackupRuns;
  snapshots: SnapshotCatalog;
  audit: AuditLog;
  wal: WalCatalog;
}

export interface Catalog extends CatalogStores {
  readonly db: SqlDb;
  /** Runs `fn` with stores bound to one transaction. Use only `tx` inside `fn`. */
  transaction<T>(fn: (tx: CatalogStores & { db: SqlDb }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface CatalogOptions {
  /** A PostgreSQL URL (production, HA). When given, `dir` is not used. */
  url?: string;
  /** Directory of the embedded catalog (the default: nothing else needs to run). */
  dir?: string;
  logger: Logger;
  now: () => Date;
  /** Server catalogs only: see PostgresCatalogOptions. */
  poolSize?: number;
  connectTimeoutMs?: number;
}

/** Stores over any handle: the catalog's own, or a transaction's. */
export function createStores(db: SqlDb, now: () => Date): CatalogStores {
  return {
    agents: new AgentRegistry(db, now),
    tokens: new EnrollmentTokens(db, now),
    runs: new BackupRuns(db, now),
    snapshots: new SnapshotCatalog(db),
    audit: new AuditLog(db, now),
    wal: new WalCatalog(db),
  };
}

/** Opens the catalog named by `url` (preferred) or `dir`, migrates its schema, and returns the stores. */
export async function openCatalog(options: CatalogOptions): Promise<Catalog> {
  const { logger, now } = options;
  let db: SqlDb;
  if (options.url !== undefined && options.url !== '') {
    if (options.dir !== undefined) logger.debug({ dir: options.dir }, 'catalog URL given: the embedded catalog directory is not used');
    const pgOptions: { logger: Logger; poolSize?: number; connectTimeoutMs?: number } = { logger };
    if (options.poolSize !== undefined) pgOptions.poolSize = options.poolSize;
    if (options.connectTimeoutMs !== undefined) pgOptions.connectTimeoutMs = options.connectTimeoutMs;
    db = await openPostgresCatalog(options.url, pgOptions);
  } else if (options.dir !== undefined && options.dir !== '') {
    db = await openEmbeddedCatalog(options.dir, { logger, now });
  } else {
    throw new CatalogError('INVALID_ARGUMENT', 'no catalog configured: give a PostgreSQL URL or a directory for the embedded catalog');
  }
  try {
    const migrated = await migrate(db, { logger, now });
    // db.location carries no password (redacted by openPostgresCatalog).
    logger.info({ kind: db.kind, location: db.location, schemaVersion: migrated.to }, 'catalog open');
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return {
    db,
    ...createStores(db, now),
    transaction: (fn) => db.transaction((tx) => fn({ db: tx, ...createStores(tx, now) })),
    close: () => db.close(),
  };
}
