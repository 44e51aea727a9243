// Original file: ../../protos/pbk/v1/operator.proto


export interface FilesRestoreOptions {
  /**
   * Path inside the snapshot; empty for the whole tree.
   */
  'path'?: (string);
  /**
   * Absolute directory on the target host. Entries never land outside it.
   */
  'targetDir'?: (string);
  /**
   * Allow a non-empty target_dir (FAILED_PRECONDITION otherwise).
   */
  'force'?: (boolean);
}

export interface FilesRestoreOptions__Output {
  /**
   * Path inside the snapshot; empty for the whole tree.
   */
  'path': (string);
  /**
   * Absolute directory on the target host. Entries never land outside it.
   */
  'targetDir': (string);
  /**
   * Allow a non-empty target_dir (FAILED_PRECONDITION otherwise).
   */
  'force': (boolean);
}
