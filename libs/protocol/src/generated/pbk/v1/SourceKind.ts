// Original file: ../../protos/pbk/v1/common.proto

/**
 * What kind of data a source produces; decides how it is backed up and restored.
 */
export const SourceKind = {
  SOURCE_KIND_UNSPECIFIED: 'SOURCE_KIND_UNSPECIFIED',
  /**
   * Directory trees watched by chokidar.
   */
  SOURCE_KIND_FILES: 'SOURCE_KIND_FILES',
  /**
   * A PostgreSQL cluster: WAL stream, base backups, logical dumps.
   */
  SOURCE_KIND_POSTGRES: 'SOURCE_KIND_POSTGRES',
  /**
   * A Redis instance: RDB dumps.
   */
  SOURCE_KIND_REDIS: 'SOURCE_KIND_REDIS',
} as const;

/**
 * What kind of data a source produces; decides how it is backed up and restored.
 */
export type SourceKind =
  | 'SOURCE_KIND_UNSPECIFIED'
  | 0
  /**
   * Directory trees watched by chokidar.
   */
  | 'SOURCE_KIND_FILES'
  | 1
  /**
   * A PostgreSQL cluster: WAL stream, base backups, logical dumps.
   */
  | 'SOURCE_KIND_POSTGRES'
  | 2
  /**
   * A Redis instance: RDB dumps.
   */
  | 'SOURCE_KIND_REDIS'
  | 3

/**
 * What kind of data a source produces; decides how it is backed up and restored.
 */
export type SourceKind__Output = typeof SourceKind[keyof typeof SourceKind]
