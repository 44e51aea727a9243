// Original file: ../../protos/pbk/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface RestoreSummary {
  'targetDir'?: (string);
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'durationMs'?: (number | string | Long);
}

export interface RestoreSummary__Output {
  'targetDir': (string);
  'files': (string);
  'dirs': (string);
  'bytes': (string);
  'durationMs': (string);
}
