/**
 * The coordinator's catalog (DESIGN decision 6): jobs, snapshots, agents,
 * tokens and the audit log in PostgreSQL SQL, on embedded PGlite by default or
 * on a PostgreSQL server given by URL. Start with `openCatalog`.
 */
export { openCatalog, createStores, type Catalog, type CatalogOptions, type CatalogStores } from './catalog.js';
export {
  openEmbeddedCatalog,
  openPostgresCatalog,
  redactUrl,
  type SqlDb,
  type EmbeddedCatalogOptions,
  type PostgresCatalogOptions,
} from './db.js';
export { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration, type MigrateOptions, type MigrateResult } from './migrations.js';
export { AgentRegistry, type Agent, type EnrollAgent } from './agents.js';
export { EnrollmentTokens, MAX_TOKEN_TTL_MS, type IssuedToken } from './tokens.js';
export { BackupRuns, type BackupRun, type BackupMode, type BeginRun, type RunState, type RunSummary, type SuccessRate } from './runs.js';
export {
  SnapshotCatalog,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type SnapshotFilter,
  type SnapshotListOptions,
  type SnapshotPage,
} from './snapshots.js';
export {
  AuditLog,
  AUDIT_ACTIONS,
  GENESIS_HASH,
  auditHash,
  canonicalJson,
  type AuditAction,
  type AuditEntry,
  type AuditRecord,
  type ChainVerification,
} from './audit.js';
export {
  CatalogError,
  CatalogNotFoundError,
  CatalogQueryError,
  CatalogUnavailableError,
  EnrollmentTokenError,
  SchemaTooNewError,
  type CatalogErrorCode,
  type TokenRefusal,
} from './errors.js';
export { WalCatalog, isWalFileName, walTimeline, DEFAULT_WAL_PAGE, MAX_WAL_PAGE, type WalFileRecord } from './wal.js';
export { LOCK_FILE_NAME } from './dir-lock.js';
