import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, realpath, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveDirectory, decodeTree, openChunk, type BlobSink, type Tree } from '@pbk/storage';
import { compilePattern, ExcludeMatcher } from '../src/files/exclude.js';
import { PathSelection } from '../src/files/selection.js';

describe('exclude patterns', () => {
  const m = (patterns: string[]) => new ExcludeMatcher(patterns);

  it('matches names at any depth when the pattern has no slash', () => {
    const x = m(['*.tmp', 'core']);
    expect(x.matches('/etc/nginx/a.tmp', false)).toBe(true);
    expect(x.matches('/a.tmp', false)).toBe(true);
    expect(x.matches('/etc/nginx/a.tmp.conf', false)).toBe(false);
    expect(x.matches('/srv/app/core', false)).toBe(true);
    expect(x.matches('/srv/app/core.js', false)).toBe(false);
  });

  it('reads ** as any number of segments; a trailing /** keeps the directory itself', () => {
    const x = m(['**/cache/**']);
    expect(x.matches('/var/lib/app/cache/x/y.bin', false)).toBe(true);
    expect(x.matches('/cache/y', false)).toBe(true);
    expect(x.matches('/var/lib/app/cache', true)).toBe(false);
    expect(x.matches('/var/lib/app/cached/y', false)).toBe(false);
  });

  it('anchors a leading / at the root; other slashed patterns match at any depth', () => {
    expect(m(['/srv/app/tmp']).matches('/srv/app/tmp', true)).toBe(true);
    expect(m(['/srv/app/tmp']).matches('/x/srv/app/tmp', true)).toBe(false);
    expect(m(['app/*.log']).matches('/srv/app/a.log', false)).toBe(true);
    expect(m(['app/*.log']).matches('/srv/app/sub/a.log', false)).toBe(false);
  });

  it('applies a trailing / to directories only, never when the type is unknown', () => {
    const x = m(['node_modules/']);
    expect(x.matches('/srv/app/node_modules', true)).toBe(true);
    expect(x.matches('/srv/app/node_modules', false)).toBe(false);
    expect(x.matches('/srv/app/node_modules', undefined)).toBe(false);
  });

  it('supports ?, classes and escapes; * never crosses a /', () => {
    expect(m(['log.?']).matches('/var/log.1', false)).toBe(true);
    expect(m(['log.[0-9]']).matches('/var/log.7', false)).toBe(true);
    expect(m(['log.[!0-9]']).matches('/var/log.7', false)).toBe(false);
    expect(m(['\\*literal']).matches('/a/*literal', false)).toBe(true);
    expect(m(['\\*literal']).matches('/a/xliteral', false)).toBe(false);
    expect(m(['/etc/*']).matches('/etc/nginx/x', false)).toBe(false);
  });

  it('rejects empty and everything-patterns', () => {
    expect(() => compilePattern('')).toThrow(/empty/);
    expect(() => compilePattern('/')).toThrow(/everything/);
    expect(() => compilePattern('a\\')).toThrow(/backslash/);
  });
});

describe('PathSelection', () => {
  const sel = new PathSelection(['/etc/nginx', '/srv/app/config.yml'], new ExcludeMatcher(['*.tmp']));
  it('keeps ancestors and configured paths, applies excludes inside, drops everything else', () => {
    expect(sel.excluded('/etc', true)).toBe(false);
    expect(sel.excluded('/etc/nginx', true)).toBe(false);
    expect(sel.excluded('/etc/nginx/nginx.conf', false)).toBe(false);
    expect(sel.excluded('/etc/nginx/x.tmp', false)).toBe(true);
    expect(sel.excluded('/etc/passwd', false)).toBe(true);
    expect(sel.excluded('/srv', true)).toBe(false);
    expect(sel.excluded('/srv/app', true)).toBe(false);
    expect(sel.excluded('/srv/app/config.yml', false)).toBe(false);
    expect(sel.excluded('/srv/app/secret.yml', false)).toBe(true);
    expect(sel.excluded('/home', true)).toBe(true);
  });
  it('never excludes a configured path, even if a pattern matches it', () => {
    expect(new PathSelection(['/data/x.tmp'], new ExcludeMatcher(['*.tmp'])).excluded('/data/x.tmp', false)).toBe(false);
  });
  it('covers everything when / is configured', () => {
    const all = new PathSelection(['/'], new ExcludeMatcher(['/proc/']));
    expect(all.excluded('/etc/passwd', false)).toBe(false);
    expect(all.excluded('/proc', true)).toBe(true);
  });
});

/** A BlobSink in memory, keeping sealed blobs so the test can open the trees. */
class MemorySink implements BlobSink {
  readonly blobs = new Map<string, { sealed: Buffer; rawLength: number }>();
  claimMissing(ids: readonly Buffer[]): boolean[] {
    return ids.map((id) => !this.blobs.has(id.toString('hex')));
  }
  async addBlob(b: { id: Buffer; sealed: Buffer; rawLength: number }): Promise<void> {
    this.blobs.set(b.id.toString('hex'), { sealed: b.sealed, rawLength: b.rawLength });
  }
}

describe('a root tree mirroring the absolute paths', () => {
  let base: string;
  beforeAll(async () => {
    // realpath: on some systems tmpdir() is behind a symlink, and the archiver stores links as links.
    base = await realpath(await mkdtemp(join(tmpdir(), 'pbk-agent-sel-')));
    await mkdir(join(base, 'etc/nginx/conf.d'), { recursive: true });
    await mkdir(join(base, 'etc/other'), { recursive: true });
    await mkdir(join(base, 'srv/app/empty'), { recursive: true });
    await writeFile(join(base, 'etc/nginx/nginx.conf'), 'events {}\n');
    await writeFile(join(base, 'etc/nginx/conf.d/site.conf'), 'server {}\n');
    await writeFile(join(base, 'etc/nginx/scratch.tmp'), 'x');
    await writeFile(join(base, 'etc/passwd'), 'root:x:0:0\n');
    await writeFile(join(base, 'srv/app/config.yml'), 'a: 1\n');
    await writeFile(join(base, 'srv/app/secret.yml'), 'no');
    await symlink('nginx.conf', join(base, 'etc/nginx/current.conf'));
    await chmod(join(base, 'etc'), 0o751);
    await utimes(join(base, 'etc'), 1_600_000_000, 1_600_000_000);
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('archives / through the selection: only the configured branches, intermediate dirs with their metadata', async () => {
    const sink = new MemorySink();
    const dek = { id: randomBytes(16), key: randomBytes(32) };
    const idKey = randomBytes(32);
    const selection = new PathSelection([join(base, 'etc/nginx'), join(base, 'srv/app/config.yml'), join(base, 'srv/app/empty')], new ExcludeMatcher(['*.tmp']));
    const result = await archiveDirectory({ sink, dek, idKey, chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384 } }, '/', undefined, {
      exclude: selection.archiveExclude,
      workers: 1,
    });
    const tree = (hex: string, where: string): Tree => {
      const b = sink.blobs.get(hex)!;
      return decodeTree(openChunk(dek, idKey, Buffer.from(hex, 'hex'), b.sealed, b.rawLength), where);
    };
    // Walk from the root down to base: every level has exactly one entry, the branch to our paths.
    let t = tree(result.tree, '/');
    const parts = base.split('/').filter(Boolean);
    for (const name of parts) {
      expect(t.entries.map((e) => e.name)).toEqual([name]);
      t = tree(t.entries[0]!.subtree!, name);
    }
    expect(t.entries.map((e) => e.name)).toEqual(['etc', 'srv']);
    const etc = t.entries[0]!;
    const st = await lstat(join(base, 'etc'));
    expect(etc).toMatchObject({ type: 'dir', mode: 0o751, uid: st.uid, gid: st.gid, mtimeNs: '1600000000000000000' });
    const etcTree = tree(etc.subtree!, 'etc');
    expect(etcTree.entries.map((e) => e.name)).toEqual(['nginx']); // not passwd, not other
    const nginx = tree(etcTree.entries[0]!.subtree!, 'nginx');
    expect(nginx.entries.map((e) => [e.name, e.type])).toEqual([
      ['conf.d', 'dir'],
      ['current.conf', 'symlink'],
      ['nginx.conf', 'file'],
    ]); // scratch.tmp excluded
    const srvApp = tree(tree(t.entries[1]!.subtree!, 'srv').entries[0]!.subtree!, 'app');
    expect(srvApp.entries.map((e) => [e.name, e.type])).toEqual([
      ['config.yml', 'file'],
      ['empty', 'dir'],
    ]); // secret.yml left out
    expect(result.summary.errors).toEqual([]);
  });
});
