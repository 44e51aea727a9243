// Original file: ../../protos/pbk/v1/agent.proto

import type { SnapshotInfo as _pbk_v1_SnapshotInfo, SnapshotInfo__Output as _pbk_v1_SnapshotInfo__Output } from '../../pbk/v1/SnapshotInfo.js';

/**
 * Checks a snapshot can actually be restored, on the agent that made it or
 * any agent the coordinator picks (restore tests, DESIGN decision 11c): the
 * agent restores it into a scratch place and runs the source's own checks
 * (redis-check-rdb and a scratch redis-server; for PostgreSQL a scratch
 * cluster with WAL replay and pg_amcheck).
 */
export interface ValidateCommand {
  'snapshot'?: (_pbk_v1_SnapshotInfo | null);
}

/**
 * Checks a snapshot can actually be restored, on the agent that made it or
 * any agent the coordinator picks (restore tests, DESIGN decision 11c): the
 * agent restores it into a scratch place and runs the source's own checks
 * (redis-check-rdb and a scratch redis-server; for PostgreSQL a scratch
 * cluster with WAL replay and pg_amcheck).
 */
export interface ValidateCommand__Output {
  'snapshot': (_pbk_v1_SnapshotInfo__Output | null);
}
