// Original file: ../../protos/pbk/v1/operator.proto

import type { SourceRef as _pbk_v1_SourceRef, SourceRef__Output as _pbk_v1_SourceRef__Output } from '../../pbk/v1/SourceRef.js';
import type { FilesRestoreOptions as _pbk_v1_FilesRestoreOptions, FilesRestoreOptions__Output as _pbk_v1_FilesRestoreOptions__Output } from '../../pbk/v1/FilesRestoreOptions.js';
import type { PostgresRestoreOptions as _pbk_v1_PostgresRestoreOptions, PostgresRestoreOptions__Output as _pbk_v1_PostgresRestoreOptions__Output } from '../../pbk/v1/PostgresRestoreOptions.js';
import type { PostgresLogicalRestoreOptions as _pbk_v1_PostgresLogicalRestoreOptions, PostgresLogicalRestoreOptions__Output as _pbk_v1_PostgresLogicalRestoreOptions__Output } from '../../pbk/v1/PostgresLogicalRestoreOptions.js';
import type { RedisRestoreOptions as _pbk_v1_RedisRestoreOptions, RedisRestoreOptions__Output as _pbk_v1_RedisRestoreOptions__Output } from '../../pbk/v1/RedisRestoreOptions.js';
import type { Long } from '@grpc/proto-loader';

export interface RestoreRequest {
  /**
   * The source to restore from (host, name; kind selects the options below).
   */
  'source'?: (_pbk_v1_SourceRef | null);
  /**
   * Point in time: the newest snapshot at or before it; 0 for the newest.
   */
  'atUnixMs'?: (number | string | Long);
  /**
   * An exact snapshot instead of `at_unix_ms`.
   */
  'snapshotId'?: (Buffer | Uint8Array | string);
  /**
   * Host whose agent restores; empty for source.host. Restoring another
   * host's data elsewhere is an operator decision and is audited.
   */
  'targetHost'?: (string);
  'files'?: (_pbk_v1_FilesRestoreOptions | null);
  /**
   * Point-in-time recovery of a PostgreSQL source: the newest base backup
   * before the target, then WAL replay to it.
   */
  'postgres'?: (_pbk_v1_PostgresRestoreOptions | null);
  /**
   * A logical dump (pg_dump -Fd) restored with pg_restore -j into a database.
   */
  'postgresLogical'?: (_pbk_v1_PostgresLogicalRestoreOptions | null);
  'redis'?: (_pbk_v1_RedisRestoreOptions | null);
  'options'?: "files"|"postgres"|"postgresLogical"|"redis";
}

export interface RestoreRequest__Output {
  /**
   * The source to restore from (host, name; kind selects the options below).
   */
  'source': (_pbk_v1_SourceRef__Output | null);
  /**
   * Point in time: the newest snapshot at or before it; 0 for the newest.
   */
  'atUnixMs': (string);
  /**
   * An exact snapshot instead of `at_unix_ms`.
   */
  'snapshotId': (Buffer);
  /**
   * Host whose agent restores; empty for source.host. Restoring another
   * host's data elsewhere is an operator decision and is audited.
   */
  'targetHost': (string);
  'files'?: (_pbk_v1_FilesRestoreOptions__Output | null);
  /**
   * Point-in-time recovery of a PostgreSQL source: the newest base backup
   * before the target, then WAL replay to it.
   */
  'postgres'?: (_pbk_v1_PostgresRestoreOptions__Output | null);
  /**
   * A logical dump (pg_dump -Fd) restored with pg_restore -j into a database.
   */
  'postgresLogical'?: (_pbk_v1_PostgresLogicalRestoreOptions__Output | null);
  'redis'?: (_pbk_v1_RedisRestoreOptions__Output | null);
  'options'?: "files"|"postgres"|"postgresLogical"|"redis";
}
