import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { restoreSnapshot } from '../src/restore/index.js';

import { verifyRepository } from '../src/verify/index.js';
import { useRepoFixture } from './helpers.js';

describe('key hierarchy', () => {
  const fx = useRepoFixture();

  it('rotation re-wraps every DEK without touching data; the old KEK stops working', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'f'), randomBytes(100_000));
    const snap = await backupDirectory(fx.t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    const packsBefore = await readFile(join(fx.t.dir, 'config'));
    const newKey = { kind: 'key' as const, key: randomBytes(32) };
    const { version, rewrapped } = await fx.t.repo.keys.rotate(newKey, new Date());
    expect(version).toBe(2);
    expect(rewrapped).toBeGreaterThanOrEqual(1);
    expect(await readFile(join(fx.t.dir, 'config'))).toEqual(packsBefore);
    await expect(fx.t.reopen()).rejects.toMatchObject({ code: 'WRONG_KEY' });
    const repo = await fx.t.reopen({}, newKey);
    expect(repo.keys.kekVersion).toBe(2);
    await restoreSnapshot(repo, snap, join(fx.work.dir, 'out'));
    expect(await readFile(join(fx.work.dir, 'out', 'f'))).toEqual(await readFile(join(data, 'f')));
    expect((await verifyRepository(repo)).ok).toBe(true);
  });

  it('reports every key access to the audit hook', async () => {
    const events: string[] = [];
    const repo = await fx.t.reopen({ onKeyAccess: (e) => events.push(e.action) });
    await repo.keys.newDek();
    expect(events).toEqual(['unlock', 'create-dek']);
  });

  it('key material never lands on disk in plaintext', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    const marker = Buffer.from('PLAINTEXT-MARKER-'.repeat(100));
    await writeFile(join(data, 'f'), marker);
    await backupDirectory(fx.t.repo, data, { source: { host: 'h', kind: 'files', name: 'd' } });
    const { readdir } = await import('node:fs/promises');
    for (const rel of await readdir(fx.t.dir, { recursive: true })) {
      const p = join(fx.t.dir, rel);
      const st = await (await import('node:fs/promises')).stat(p);
      if (!st.isFile()) continue;
      const bytes = await readFile(p);
      expect(bytes.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
      expect(bytes.includes(fx.t.repo.keys.master.idKey)).toBe(false);
      expect(bytes.includes(fx.t.repo.keys.master.metaKey)).toBe(false);
    }
  });
});
