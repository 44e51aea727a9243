// Original file: ../../protos/pbk/v1/common.proto

export const BackupMode = {
  /**
   * The coordinator's schedule decides (incremental unless a full is due).
   */
  BACKUP_MODE_UNSPECIFIED: 'BACKUP_MODE_UNSPECIFIED',
  /**
   * Trust size+mtime+inode of the parent snapshot; only changed data is read.
   */
  BACKUP_MODE_INCREMENTAL: 'BACKUP_MODE_INCREMENTAL',
  /**
   * Re-read and re-hash everything; dedup still keeps the upload small.
   */
  BACKUP_MODE_FULL: 'BACKUP_MODE_FULL',
} as const;

export type BackupMode =
  /**
   * The coordinator's schedule decides (incremental unless a full is due).
   */
  | 'BACKUP_MODE_UNSPECIFIED'
  | 0
  /**
   * Trust size+mtime+inode of the parent snapshot; only changed data is read.
   */
  | 'BACKUP_MODE_INCREMENTAL'
  | 1
  /**
   * Re-read and re-hash everything; dedup still keeps the upload small.
   */
  | 'BACKUP_MODE_FULL'
  | 2

export type BackupMode__Output = typeof BackupMode[keyof typeof BackupMode]
