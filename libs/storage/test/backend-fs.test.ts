import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FaultyBackend } from '../src/backend/faulty.js';
import { classifyFsError, LocalBackend } from '../src/backend/fs.js';
import {
  BackendPermissionError,
  NoSpaceError,
  NotFoundError,
  StorageError,
  TransientBackendError,
} from '../src/errors.js';
import { chunksOf, describeBackendContract, listNames, rejection } from './backend-contract.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const packageDir = join(here, '..');
const MiB = 1 << 20;

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pbk-backend-'));
}

/** Every file under `dir`, hidden ones included: what is really on disk. */
async function filesOnDisk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describeBackendContract('LocalBackend', async () => {
  const root = await tempRoot();
  return { backend: new LocalBackend(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('LocalBackend on disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempRoot();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates files 0600 and folders 0700 by default, whatever the umask', async () => {
    const repo = join(root, 'modes');
    await mkdir(repo);
    const backend = new LocalBackend(repo);
    await backend.put('data/ab/obj', Buffer.from('x'));
    await backend.put('data/ab/streamed', chunksOf(Buffer.from('y')));
    expect((await stat(join(repo, 'data/ab/obj'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(repo, 'data/ab/streamed'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(repo, 'data'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(repo, 'data/ab'))).mode & 0o777).toBe(0o700);
  });

  it('applies configured modes exactly', async () => {
    const repo = join(root, 'custom-modes');
    await mkdir(repo);
    const backend = new LocalBackend(repo, { fileMode: 0o640, dirMode: 0o750 });
    await backend.put('index/obj', Buffer.from('x'));
    expect((await stat(join(repo, 'index/obj'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(repo, 'index'))).mode & 0o777).toBe(0o750);
  });

  it('creates a root missing from the start, but never recreates one that vanished (an unmounted volume)', async () => {
    const fresh = join(root, 'new', 'repo');
    const created = new LocalBackend(fresh);
    await created.put('config', Buffer.from('{}'));
    expect((await stat(fresh)).mode & 0o777).toBe(0o700);
    expect(await listNames(created)).toEqual(['config']);

    const mounted = join(root, 'mnt', 'repo');
    await mkdir(mounted, { recursive: true });
    const backend = new LocalBackend(mounted);
    await backend.put('data/aa/x', Buffer.from('x'));
    await rm(mounted, { recursive: true });
    const err = await rejection(backend.put('data/aa/y', Buffer.from('y')));
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('FAILED_PRECONDITION');
    await expect(stat(mounted)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves no temp file on disk after aborted or torn puts', async () => {
    const repo = join(root, 'torn');
    await mkdir(repo);
    const backend = new LocalBackend(repo);
    await backend.put('data/aa/kept', Buffer.from('kept'));
    const controller = new AbortController();
    async function* abortsMidway(): AsyncGenerator<Buffer> {
      yield randomBytes(100_000);
      controller.abort();
      yield randomBytes(100_000);
    }
    async function* throwsMidway(): AsyncGenerator<Buffer> {
      yield randomBytes(100_000);
      throw new Error('source died');
    }
    await rejection(backend.put('data/aa/aborted', abortsMidway(), { signal: controller.signal }));
    await rejection(backend.put('data/aa/torn', throwsMidway()));
    await rejection(backend.put('data/aa/kept', throwsMidway()));
    expect(await filesOnDisk(repo)).toEqual(['data/aa/kept']);
  });

  it('treats a folder as no object, and a file on a folder path as a blocked put', async () => {
    const repo = join(root, 'shapes');
    await mkdir(repo);
    const backend = new LocalBackend(repo);
    await backend.put('a/b', Buffer.from('x'));
    expect(await rejection(backend.stat('a'))).toBeInstanceOf(NotFoundError);
    await backend.delete('a');
    const err = await rejection(backend.put('a/b/c', Buffer.from('y')));
    expect((err as StorageError).code).toBe('FAILED_PRECONDITION');
    const onDir = await rejection(backend.put('a', Buffer.from('z')));
    expect((onDir as StorageError).code).toBe('FAILED_PRECONDITION');
    expect(await filesOnDisk(repo)).toEqual(['a/b']);
  });

  it('does not list files whose names are not object names', async () => {
    const repo = join(root, 'foreign');
    await mkdir(join(repo, 'data'), { recursive: true });
    await writeFile(join(repo, 'data', '.tmp-abcdef'), 'partial');
    await writeFile(join(repo, 'data', 'with space'), 'foreign');
    await writeFile(join(repo, 'data', 'ok'), 'object');
    expect(await listNames(new LocalBackend(repo))).toEqual(['data/ok']);
  });
});

describe('LocalBackend error classification', () => {
  const errno = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code });
  it.each([
    ['ENOENT', NotFoundError],
    ['ENOTDIR', NotFoundError],
    ['ENOSPC', NoSpaceError],
    ['EDQUOT', NoSpaceError],
    ['EACCES', BackendPermissionError],
    ['EPERM', BackendPermissionError],
    ['EROFS', BackendPermissionError],
    ['EAGAIN', TransientBackendError],
    ['EBUSY', TransientBackendError],
    ['EINTR', TransientBackendError],
    ['EMFILE', TransientBackendError],
    ['ENFILE', TransientBackendError],
    ['ETIMEDOUT', TransientBackendError],
    ['ESTALE', TransientBackendError],
  ])('%s on get is %o', (code, type) => {
    const err = classifyFsError(errno(code), 'data/x', 'get');
    expect(err).toBeInstanceOf(type);
    expect(err.cause).toMatchObject({ code });
  });

  it('keeps EIO out of the retried set: a failing disk must reach the operator', () => {
    const err = classifyFsError(errno('EIO'), 'data/x', 'put');
    expect(err).not.toBeInstanceOf(TransientBackendError);
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/dmesg/);
  });

  it('reads ENOENT during put as a blocked path, not as a missing object', () => {
    expect(classifyFsError(errno('ENOENT'), 'data/x', 'put').code).toBe('FAILED_PRECONDITION');
  });

  it('maps unknown errors to INTERNAL with the cause kept', () => {
    const cause = new Error('weird');
    const err = classifyFsError(cause, 'x', 'stat');
    expect(err.code).toBe('INTERNAL');
    expect(err.cause).toBe(cause);
  });
});

/** Mounts a 2 MiB tmpfs when allowed (root, CAP_SYS_ADMIN): a real disk-full, not a simulated one. */
function tryMountTmpfs(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir], { stdio: 'ignore' });
  return result.status === 0;
}

describe('LocalBackend when the disk fills mid-put', () => {
  let mountPoint: string;
  let mounted = false;
  beforeAll(async () => {
    mountPoint = await tempRoot();
    mounted = tryMountTmpfs(mountPoint);
  });
  afterAll(async () => {
    if (mounted) spawnSync('umount', [mountPoint], { stdio: 'ignore' });
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('real ENOSPC on a full tmpfs: NoSpaceError, no partial object, no temp file, space given back', async (ctx) => {
    if (!mounted) ctx.skip();
    const backend = new LocalBackend(mountPoint);
    const first = randomBytes(MiB);
    await backend.put('data/aa/first', first);
    async function* tooBig(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 8; i++) yield randomBytes(256 * 1024);
    }
    const err = await rejection(backend.put('data/aa/second', tooBig()));
    expect(err).toBeInstanceOf(NoSpaceError);
    expect((err as NoSpaceError).objectName).toBe('data/aa/second');
    expect(((err as NoSpaceError).cause as { code?: string }).code).toBe('ENOSPC');
    expect(await listNames(backend)).toEqual(['data/aa/first']);
    expect(await filesOnDisk(mountPoint)).toEqual(['data/aa/first']);
    expect((await backend.get('data/aa/first')).equals(first)).toBe(true);
    // A Buffer put fails the same way; the removed temp file gave its blocks back.
    expect(await rejection(backend.put('data/aa/buffer', randomBytes(2 * MiB)))).toBeInstanceOf(NoSpaceError);
    await backend.put('data/aa/third', randomBytes(512 * 1024));
    expect(await listNames(backend)).toEqual(['data/aa/first', 'data/aa/third']);
    await backend.close();
  });

  it('simulated disk-full (FaultyBackend afterBytes with an ENOSPC errno): NoSpaceError, the temp file is removed', async () => {
    // Runs everywhere, also where mounting is not allowed; it checks cleanup, not the kernel.
    const repo = await tempRoot();
    onTestFinished(() => rm(repo, { recursive: true, force: true }));
    const local = new LocalBackend(repo);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const faulty = new FaultyBackend(local, [{ op: 'put', times: 1, afterBytes: 300_000, error: () => enospc }]);
    const err = await rejection(faulty.put('data/bb/x', chunksOf(randomBytes(200_000), randomBytes(200_000))));
    expect(err).toBeInstanceOf(NoSpaceError);
    expect((err as NoSpaceError).objectName).toBe('data/bb/x');
    expect((err as NoSpaceError).cause).toBe(enospc);
    expect(faulty.fired('put')).toBe(1);
    expect(await filesOnDisk(repo)).toEqual([]);
    expect(await listNames(local)).toEqual([]);
  });
});

describe('LocalBackend after a writer is killed mid-put (kill -9)', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempRoot();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists nothing, and removeStaleTemp removes the leftover temp file', async () => {
    const moduleUrl = pathToFileURL(join(packageDir, 'src/backend/fs.ts')).href;
    const script = `
      const { LocalBackend } = await import(${JSON.stringify(moduleUrl)});
      const backend = new LocalBackend(${JSON.stringify(root)});
      async function* endless() {
        for (let i = 0; ; i++) {
          yield Buffer.alloc(64 * 1024, i);
          if (i === 4) process.stdout.write('writing\\n');
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      await backend.put('data/ab/victim', endless());
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('writing')) resolve();
      });
      child.once('exit', () => reject(new Error(`writer exited before writing: ${stderr}`)));
    });
    const during = await filesOnDisk(root);
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^data\/ab\/\.tmp-[0-9a-f]+$/);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const backend = new LocalBackend(root);
    expect(await listNames(backend)).toEqual([]);
    expect(await rejection(backend.stat('data/ab/victim'))).toBeInstanceOf(NotFoundError);
    // Fresh temp files are spared: they may belong to a put in progress.
    expect(await backend.removeStaleTemp(60_000)).toBe(0);
    expect(await backend.removeStaleTemp(60_000, Date.now() + 61_000)).toBe(1);
    expect(await filesOnDisk(root)).toEqual([]);
    expect(await backend.removeStaleTemp(0)).toBe(0);
    // The repository is usable afterwards.
    await backend.put('data/ab/victim', Buffer.from('whole'));
    expect(await listNames(backend)).toEqual(['data/ab/victim']);
  });
});
