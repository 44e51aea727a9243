/**
 * @pbk/testkit: real services, really started, for tests and benchmarks
 * (scratch PostgreSQL clusters, redis-server instances, free ports, a
 * child-process runner). Production code never imports it (tools/check-layers.mjs).
 */
export { freePort } from './ports.js';
export { run, isRoot, type RunResult } from './run.js';
export { PG_BIN, PG_OS_USER, pgBin, pgAvailable, runAsPg, PgCluster, startPgCluster, stopAllPgClusters, pgTempDir, pgOsIds, type PgClusterOptions } from './postgres.js';
export { REDIS_SERVER, RedisInstance, startRedis, stopAllRedis, type RedisOptions } from './redis.js';
