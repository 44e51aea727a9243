import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { restoreSnapshot } from '../src/restore/index.js';
import { makeTestRepo, tempDir, type TestRepo } from '../src/testing.js';
import { verifyRepository } from '../src/verify/index.js';

describe('key hierarchy', () => {
  let t: TestRepo;
  let work: { dir: string; cleanup(): Promise<void> };
  beforeEach(async () => {
    t = await makeTestRepo();
    work = await tempDir();
  });
  afterEach(async () => {
    await t.cleanup();
    await work.cleanup();
  });

  it('rotation re-wraps every DEK without touching data; the old KEK stops working', async () => {
    const data = join(work.dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'f'), randomBytes(100_000));
    const snap = await backupDirectory(t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    const packsBefore = await readFile(join(t.dir, 'config'));
    const newKey = { kind: 'key' as const, key: randomBytes(32) };
    const { version, rewrapped } = await t.repo.keys.rotate(newKey, new Date());
    expect(version).toBe(2);
    expect(rewrapped).toBeGreaterThanOrEqual(1);
    expect(await readFile(join(t.dir, 'config'))).toEqual(packsBefore);
    await expect(t.reopen()).rejects.toMatchObject({ code: 'WRONG_KEY' });
    const repo = await t.reopen({}, newKey);
    expect(repo.keys.kekVersion).toBe(2);
    await restoreSnapshot(repo, snap, join(work.dir, 'out'));
    expect(await readFile(join(work.dir, 'out', 'f'))).toEqual(await readFile(join(data, 'f')));
    expect((await verifyRepository(repo)).ok).toBe(true);
  });

  it('reports every key access to the audit hook', async () => {
    const events: string[] = [];
    const repo = await t.reopen({ onKeyAccess: (e) => events.push(e.action) });
    await repo.keys.newDek();
    expect(events).toEqual(['unlock', 'create-dek']);
  });

  it('key material never lands on disk in plaintext', async () => {
    const data = join(work.dir, 'data');
    await mkdir(data);
    const marker = Buffer.from('PLAINTEXT-MARKER-'.repeat(100));
    await writeFile(join(data, 'f'), marker);
    await backupDirectory(t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    const { readdir } = await import('node:fs/promises');
    for (const rel of await readdir(t.dir, { recursive: true })) {
      const p = join(t.dir, rel);
      const st = await (await import('node:fs/promises')).stat(p);
      if (!st.isFile()) continue;
      const bytes = await readFile(p);
      expect(bytes.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
      expect(bytes.includes(t.repo.keys.master.idKey)).toBe(false);
      expect(bytes.includes(t.repo.keys.master.metaKey)).toBe(false);
    }
  });
});
