/**
 * Opening the catalog: engine choice, and secrets in a URL never reaching a
 * message or a log line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openCatalog } from '../src/catalog/catalog.js';
import { openPostgresCatalog, redactUrl } from '../src/catalog/db.js';
import { CatalogUnavailableError } from '../src/catalog/errors.js';
import { LOCK_FILE_NAME, lockCatalogDir } from '../src/catalog/dir-lock.js';

const ADMIN_URL = process.env.PBK_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const SECRET = 'S3cr3t-Pa55:w%40rd';
const DECODED = 'S3cr3t-Pa55:w@rd';

function capturingLogger(): { logger: ReturnType<typeof pino>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('catalog configuration', () => {
  it('redacts the password of a URL', () => {
    expect(redactUrl(`postgres://pbk:${SECRET}@db.example:5432/pbk?sslmode=require`)).toBe('postgres://pbk:***@db.example:5432/pbk?sslmode=require');
    expect(redactUrl('postgres://pbk@db.example/pbk')).toBe('postgres://pbk@db.example/pbk');
    expect(redactUrl(`not a url //pbk:${SECRET}@x password=${SECRET}`)).not.toContain('S3cr3t');
  });

  it('fails UNAVAILABLE on an unreachable server without the password in the error', async () => {
    const { logger, lines } = capturingLogger();
    const err = await openPostgresCatalog(`postgres://pbk:${SECRET}@127.0.0.1:1/pbk`, { logger, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogUnavailableError);
    expect((err as CatalogUnavailableError).code).toBe('UNAVAILABLE');
    const text = `${(err as Error).message} ${String((err as Error).cause)} ${lines.join('')}`;
    expect(text).toContain('postgres://pbk:***@127.0.0.1:1/pbk');
    expect(text).not.toContain('S3cr3t');
    expect(text).not.toContain(DECODED);
  });

  it('never logs the password of a working URL', async () => {
    // The test server trusts local connections, so any password gets in.
    const url = new URL(ADMIN_URL);
    url.password = SECRET;
    const { logger, lines } = capturingLogger();
    const catalogDb = await openPostgresCatalog(url.toString(), { logger });
    try {
      expect(catalogDb.location).not.toContain('S3cr3t');
      await catalogDb.query('SELECT 1 AS x');
      const err = await catalogDb.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('INTERNAL');
    } finally {
      await catalogDb.close();
    }
    expect(lines.join('')).not.toContain('S3cr3t');
  });

  it('needs a URL or a directory', async () => {
    const { logger } = capturingLogger();
    await expect(openCatalog({ logger, now: () => new Date() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('lets one process at a time hold an embedded catalog directory, and takes over the lock of a dead holder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pbk-catalog-lock-'));
    const now = () => new Date('2025-03-01T00:00:00Z');
    try {
      const release = await lockCatalogDir(dir, now);
      expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
      await expect(lockCatalogDir(dir, now)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining(`process ${process.pid}`) });
      await release();
      await (await lockCatalogDir(dir, now))();

      // A holder that exited: its pid no longer runs, so the lock is stale.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: dead, host: hostname(), since: 'then' }));
      await (await lockCatalogDir(dir, now))();

      // A lock that cannot be read is never taken over silently.
      await writeFile(join(dir, LOCK_FILE_NAME), 'garbage');
      await expect(lockCatalogDir(dir, now)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('unknown process') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
