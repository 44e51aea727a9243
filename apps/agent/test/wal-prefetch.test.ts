/** WalPrefetch: which files it fetches ahead, what it hands out, and its bound. */
import { describe, expect, it } from 'vitest';
import { WalPrefetch } from '../src/local-api/wal-prefetch.js';

const SEG = 16 * 1024 * 1024;

function setup(depth: number, stored: (file: string) => boolean = () => true) {
  const asked: string[] = [];
  const aborted: string[] = [];
  const p = new WalPrefetch({
    depth,
    ttlMs: 60_000,
    segmentBytes: SEG,
    fetch: async (host, source, file, signal) => {
      asked.push(`${host}/${source}/${file}`);
      signal.addEventListener('abort', () => aborted.push(file));
      if (!stored(file)) throw new Error(`${file} not found`);
      return Buffer.from(file);
    },
  });
  return { p, asked, aborted };
}

describe('WalPrefetch', () => {
  it('fetches the next segments of the same timeline, across the 4 GiB boundary, and hands each out once', async () => {
    const { p, asked } = setup(3);
    p.after('db-1', 'main', '0000000200000001000000FE');
    expect(asked).toEqual(['db-1/main/0000000200000001000000FF', 'db-1/main/000000020000000200000000', 'db-1/main/000000020000000200000001']);
    expect((await p.take('db-1', 'main', '000000020000000200000000'))?.toString()).toBe('000000020000000200000000');
    expect(await p.take('db-1', 'main', '000000020000000200000000')).toBeUndefined();
    // Another host's or source's file of the same name is not the one fetched.
    expect(await p.take('db-2', 'main', '000000020000000200000001')).toBeUndefined();
    p.close();
  });

  it("from(): a restore's first segment and the ones after it, none fetched twice when asked again", async () => {
    const { p, asked } = setup(3);
    p.from('db-1', 'main', '000000010000000000000034');
    p.from('db-1', 'main', '000000010000000000000034');
    expect(asked).toEqual(['db-1/main/000000010000000000000034', 'db-1/main/000000010000000000000035', 'db-1/main/000000010000000000000036']);
    expect((await p.take('db-1', 'main', '000000010000000000000034'))?.toString()).toBe('000000010000000000000034');
    p.close();
  });

  it('holds at most `depth` files: the oldest is dropped (and its fetch aborted) for a newer one', async () => {
    const { p, asked, aborted } = setup(2);
    p.after('h', 's', '000000010000000000000001');
    p.after('h', 's', '000000010000000000000003');
    expect(asked.map((a) => a.slice(-2))).toEqual(['02', '03', '04', '05']);
    expect(aborted).toEqual(['000000010000000000000002', '000000010000000000000003']);
    expect(await p.take('h', 's', '000000010000000000000002')).toBeUndefined();
    expect((await p.take('h', 's', '000000010000000000000005'))?.toString()).toBe('000000010000000000000005');
    p.close();
  });

  it('a failed fetch ahead is forgotten (the request fetches for itself); history and partial names start none', async () => {
    const { p, asked } = setup(2, (f) => f !== '000000010000000000000008');
    p.after('h', 's', '000000010000000000000007');
    expect(await p.take('h', 's', '000000010000000000000008')).toBeUndefined();
    expect((await p.take('h', 's', '000000010000000000000009'))?.toString()).toBe('000000010000000000000009');
    const n = asked.length;
    p.after('h', 's', '00000002.history');
    p.after('h', 's', '000000010000000000000009.partial');
    expect(asked.length).toBe(n);
    p.close();
  });
});
