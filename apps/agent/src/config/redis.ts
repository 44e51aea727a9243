/**
 * The redis source's part of the agent config (docs/agent-config.md).
 * Not built yet: a redis source is refused with a clear message.
 */
import type { Problems } from './fields.js';

export interface RedisSourceConfig {
  name: string;
  kind: 'redis';
}

export function compileRedisSource(_s: Record<string, unknown>, _name: string, field: string, problems: Problems): RedisSourceConfig | undefined {
  problems.add(`${field}.kind`, 'redis sources are not supported by this agent version yet');
  return undefined;
}

/** What `pbk-agent check-config` prints for this source (defaults applied, next schedule times; never secrets). */
export function describeRedisSource(c: RedisSourceConfig, _now: number): Record<string, unknown> {
  return { name: c.name, kind: c.kind };
}
