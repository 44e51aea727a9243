// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface RestoreSummary {
  'targetDir'?: (string);
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
  /**
   * Source-specific results (PostgreSQL: restored_to time/LSN, timeline,
   * promoted, amcheck; Redis: rdb_file, keys), shown by the CLI.
   */
  'facts'?: ({[key: string]: string});
}

export interface RestoreSummary__Output {
  'targetDir': (string);
  'files': (string);
  'dirs': (string);
  'bytes': (string);
  'durationMs': (string);
  /**
   * Source-specific results (PostgreSQL: restored_to time/LSN, timeline,
   * promoted, amcheck; Redis: rdb_file, keys), shown by the CLI.
   */
  'facts': ({[key: string]: string});
}
