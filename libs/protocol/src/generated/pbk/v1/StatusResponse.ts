// Original file: ../../protos/pbk/v1/operator.proto

import type { AgentStatus as _pbk_v1_AgentStatus, AgentStatus__Output as _pbk_v1_AgentStatus__Output } from '../../pbk/v1/AgentStatus.js';
import type { SourceStatus as _pbk_v1_SourceStatus, SourceStatus__Output as _pbk_v1_SourceStatus__Output } from '../../pbk/v1/SourceStatus.js';
import type { RepositoryStats as _pbk_v1_RepositoryStats, RepositoryStats__Output as _pbk_v1_RepositoryStats__Output } from '../../pbk/v1/RepositoryStats.js';
import type { Long } from '@grpc/proto-loader';

export interface StatusResponse {
  'coordinatorVersion'?: (string);
  'serverTimeUnixMs'?: (number | string | Long);
  /**
   * Region name from the coordinator's config.
   */
  'region'?: (string);
  /**
   * Whether this coordinator holds the writer lease (one writer per repository).
   */
  'primary'?: (boolean);
  'agents'?: (_pbk_v1_AgentStatus)[];
  'sources'?: (_pbk_v1_SourceStatus)[];
  'repository'?: (_pbk_v1_RepositoryStats | null);
}

export interface StatusResponse__Output {
  'coordinatorVersion': (string);
  'serverTimeUnixMs': (string);
  /**
   * Region name from the coordinator's config.
   */
  'region': (string);
  /**
   * Whether this coordinator holds the writer lease (one writer per repository).
   */
  'primary': (boolean);
  'agents': (_pbk_v1_AgentStatus__Output)[];
  'sources': (_pbk_v1_SourceStatus__Output)[];
  'repository': (_pbk_v1_RepositoryStats__Output | null);
}
