import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backupDirectory } from '../src/archiver/index.js';
import { LocalBackend } from '../src/backend/index.js';
import { collectGarbage } from '../src/gc/index.js';
import { listSnapshots } from '../src/snapshot/index.js';

import { verifyRepository } from '../src/verify/index.js';
import { useRepoFixture } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/slow-writer.ts', import.meta.url));

describe('a writer killed with SIGKILL mid-pack', () => {
  const fx = useRepoFixture();

  it('leaves a consistent repository: partial pack invisible, leftovers cleaned, next run works', async () => {
    const data = join(fx.work.dir, 'data');
    await mkdir(data);
    for (let i = 0; i < 8; i++) await writeFile(join(data, `f${i}.bin`), randomBytes(512 * 1024));
    if (fx.t.kek.kind !== 'key') throw new Error('test repo uses a key');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, PBK_REPO: fx.t.dir, PBK_KEY: fx.t.kek.key.toString('base64'), PBK_DATA: data },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Kill it after its second durable pack, while the third is being streamed.
    await new Promise<void>((resolve, reject) => {
      let packs = 0;
      child.stdout.on('data', (b: Buffer) => {
        packs += b.toString().split('\n').filter((l) => l === 'pack').length;
        if (b.toString().includes('done')) reject(new Error('writer finished before it could be killed'));
        if (packs >= 2) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
    });
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    expect(child.signalCode).toBe('SIGKILL');

    const repo = await fx.t.reopen();
    expect(await listSnapshots(repo)).toEqual([]);
    const report = await verifyRepository(repo);
    expect(report.problems).toEqual([]);
    // Temp files of the torn pack may remain on disk but are never listed; they are swept.
    const removed = await new LocalBackend(fx.t.dir).removeStaleTemp(0);
    expect(removed).toBeGreaterThanOrEqual(0);
    expect((await readdir(fx.t.dir, { recursive: true })).filter((n) => n.includes('.tmp-'))).toEqual([]);

    const snap = await backupDirectory(repo, data, { source: { host: 'h', kind: 'files', name: 'killed' } });
    expect(snap.summary.errors).toEqual([]);
    const later = await fx.t.reopen({ now: () => new Date(Date.now() + 2 * 86400_000) });
    await collectGarbage(later);
    const final = await verifyRepository(await fx.t.reopen());
    expect(final.ok).toBe(true);
    expect(final.warnings).toEqual([]);
  });
});
