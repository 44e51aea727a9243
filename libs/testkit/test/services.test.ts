import { afterAll, describe, expect, it } from 'vitest';
import { startPgCluster, startRedis, stopAllPgClusters, stopAllRedis } from '../src/index.js';

afterAll(async () => {
  await stopAllPgClusters();
  await stopAllRedis();
});

describe('testkit starts real services', () => {
  it('starts a scratch PostgreSQL 15 cluster with replication slots available, and stops it', async () => {
    const c = await startPgCluster();
    try {
      const [row] = await c.query<{ v: string; wal: string }>("SELECT current_setting('server_version_num') AS v, current_setting('wal_level') AS wal");
      expect(Number(row!.v)).toBeGreaterThanOrEqual(150000);
      expect(row!.wal).toBe('replica');
      await c.stop();
      expect(c.isRunning).toBe(false);
    } finally {
      await c.cleanup();
    }
  });

  it('starts a scratch redis-server on a free port', async () => {
    const r = await startRedis();
    try {
      expect(r.port).toBeGreaterThan(0);
    } finally {
      await r.cleanup();
    }
  });
});
