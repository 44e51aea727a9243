// Packs written while the next ones fill (maxPackWrites > 1, as the
// coordinator runs) from reused pack buffers: no more writes at once than
// allowed, no buffer reused while a write still reads it, every blob intact.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyedId } from '@pbk/crypto';
import { LocalBackend, type Backend } from '../src/backend/index.js';
import { sealChunk } from '../src/blob/index.js';
import { Repository } from '../src/repository/index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Pack puts that take a while, and notice a buffer changed while they had it. */
function slowPuts(inner: Backend): { backend: Backend; maxInFlight: () => number; changed: string[] } {
  let inFlight = 0;
  let max = 0;
  const changed: string[] = [];
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver) as unknown;
      return async (name: string, data: Buffer, options?: object): Promise<void> => {
        if (!name.startsWith('data/')) return target.put(name, data, options);
        const before = sha(data);
        inFlight++;
        max = Math.max(max, inFlight);
        try {
          await sleep(5 + Math.random() * 20);
          if (sha(data) !== before) changed.push(name);
          await target.put(name, data, options);
          if (sha(data) !== before) changed.push(name);
        } finally {
          inFlight--;
        }
      };
    },
  });
  return { backend, maxInFlight: () => max, changed };
}

describe('pack writes from reused buffers', () => {
  it('writes up to maxPackWrites packs at once and never reuses a buffer a write still reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pbk-pack-writes-'));
    try {
      const slow = slowPuts(new LocalBackend(dir));
      const kek = { kind: 'key' as const, key: randomBytes(32) };
      const repo = await Repository.init(slow.backend, kek, { packTargetBytes: 64 * 1024, maxPackWrites: 2 });
      const dek = await repo.keys.newDek();
      const plains: Buffer[] = [];
      for (let i = 0; i < 120; i++) {
        const plain = randomBytes(4096 + Math.floor(Math.random() * 40_000));
        plains.push(plain);
        const blob = sealChunk(dek, 'data', keyedId(repo.keys.master.idKey, plain), plain);
        await repo.addBlob(blob);
        // The repository copied it: scribbling over the caller's buffer changes nothing stored.
        blob.sealed.fill(0);
      }
      await repo.flush();
      expect(slow.maxInFlight()).toBe(2);
      expect(slow.changed).toEqual([]);
      const reopened = await Repository.open(new LocalBackend(dir), kek);
      for (const plain of plains) expect((await reopened.readBlob(keyedId(repo.keys.master.idKey, plain))).equals(plain)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
