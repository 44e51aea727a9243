// The streaming tar reader against archives GNU tar really writes (ustar,
// pax, gnu formats) and against hand-built headers for what tar will not
// make cheaply here (base-256 sizes over 8 GiB, damaged headers).
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNumber, parsePax, readTar, readTarToEnd, TarFormatError, type TarEntry } from '../src/postgres/tar.js';

let dir: string;
const longDir = 'd'.repeat(80) + '/' + 'e'.repeat(60);
const longFile = `${longDir}/${'f'.repeat(90)}.dat`;
const big = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbk-tar-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'base/1'), { recursive: true });
  await mkdir(join(src, longDir), { recursive: true });
  await mkdir(join(src, 'empty'), { recursive: true });
  await writeFile(join(src, 'PG_VERSION'), '15\n', { mode: 0o600 });
  await writeFile(join(src, 'base/1/1259'), big);
  await writeFile(join(src, 'base/1/zero'), '');
  await writeFile(join(src, longFile), 'long name content');
  await symlink('/somewhere/' + 'l'.repeat(120), join(src, 'pg_tblspc_link'));
  await utimes(join(src, 'PG_VERSION'), 1_700_000_000, 1_700_000_000);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(buf: Buffer, pieceSize: number): Promise<Map<string, { entry: TarEntry; data: Buffer }>> {
  const out = new Map<string, { entry: TarEntry; data: Buffer }>();
  for await (const { entry, content } of readTar(chunked(buf, pieceSize))) {
    const parts: Buffer[] = [];
    for await (const p of content) parts.push(p);
    out.set(entry.name, { entry, data: Buffer.concat(parts) });
  }
  return out;
}

describe('readTar', () => {
  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`reads what GNU tar writes in ${format} format (files, dirs, symlinks, long names)`, async () => {
      const file = join(dir, `${format}.tar`);
      // ustar cannot hold the 120-character link target: leave the link out there.
      const members = format === 'ustar' ? ['PG_VERSION', 'base', 'empty', 'd' + 'd'.repeat(79)] : ['.'];
      execFileSync('tar', ['--format', format, '-cf', file, '-C', join(dir, 'src'), ...members]);
      const tarBytes = await readFile(file);
      for (const piece of [61, 511, 512, 4096, 1 << 20]) {
        const got = await readAll(tarBytes, piece);
        expect(got.get('PG_VERSION')?.data.toString()).toBe('15\n');
        expect(got.get('PG_VERSION')?.entry).toMatchObject({ type: 'file', mode: 0o600, mtime: 1_700_000_000, size: 3 });
        expect(got.get('base/1/1259')?.data.equals(big)).toBe(true);
        expect(got.get('base/1/zero')?.entry.size).toBe(0);
        expect(got.get('empty')?.entry.type).toBe('dir');
        expect(got.get('base/1')?.entry.type).toBe('dir');
        expect(got.get(longFile)?.data.toString()).toBe('long name content');
        if (format !== 'ustar') expect(got.get('pg_tblspc_link')?.entry).toMatchObject({ type: 'symlink', linkname: '/somewhere/' + 'l'.repeat(120) });
      }
    });
  }

  it('skips content the caller does not read', async () => {
    const file = join(dir, 'skip.tar');
    execFileSync('tar', ['-cf', file, '-C', join(dir, 'src'), 'base', 'PG_VERSION']);
    const names: string[] = [];
    for await (const { entry } of readTar(chunked(await readFile(file), 1000))) names.push(entry.name);
    expect(names).toContain('PG_VERSION');
    expect(names).toContain('base/1/1259');
  });

  it('refuses a truncated stream and a damaged header', async () => {
    const file = join(dir, 'trunc.tar');
    execFileSync('tar', ['-cf', file, '-C', join(dir, 'src'), 'base']);
    const bytes = await readFile(file);
    await expect(readAll(bytes.subarray(0, 2 * 1024 * 1024), 4096)).rejects.toThrow(TarFormatError);
    await expect(readAll(bytes.subarray(0, 2 * 1024 * 1024), 4096)).rejects.toThrow(/ended inside base\/1\/1259/);
    const damaged = Buffer.from(bytes);
    damaged[0] = damaged[0]! ^ 0xff;
    await expect(readAll(damaged, 4096)).rejects.toThrow(/checksum/);
    // No end-of-archive marker: the writer died between members.
    await expect(readAll(Buffer.alloc(0), 512)).rejects.toThrow(/end-of-archive/);
  });

  it('reads GNU base-256 sizes (members over 8 GiB)', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUIntBE(9 * 1024 ** 3, 6, 6);
    expect(parseNumber(field, 'size')).toBe(9 * 1024 ** 3);
    expect(parseNumber(Buffer.from('00000001750\0'), 'size')).toBe(1000);
    expect(() => parseNumber(Buffer.from('12x4\0'), 'size')).toThrow(/octal/);

    // A header claiming 9 GiB, base-256 encoded, followed by a short body: the size is read, and the shortfall reported.
    const h = Buffer.alloc(512);
    h.write('huge.dat', 0);
    h.write('0000600\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    field.copy(h, 124);
    h.write('14000000000\0', 136);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const it = readTar(chunked(Buffer.concat([h, Buffer.alloc(4096, 1)]), 1000));
    const first = await it.next();
    expect(first.value?.entry).toMatchObject({ name: 'huge.dat', size: 9 * 1024 ** 3, type: 'file' });
    await expect((async () => {
      for await (const _ of first.value!.content) void _;
    })()).rejects.toThrow(/ended inside huge\.dat \(4096 of 9663676416 bytes\)/);
  });

  it('parses pax records', () => {
    const rec = (k: string, v: string): string => {
      const body = ` ${k}=${v}\n`;
      const n = Buffer.byteLength(body);
      let len = n + 2;
      if (String(len).length + n !== len) len = String(len + 1).length + n;
      return `${len}${body}`;
    };
    const text = rec('path', 'a/b/ü') + rec('size', '12');
    expect(parsePax(Buffer.from(text))).toEqual(new Map([['path', 'a/b/ü'], ['size', '12']]));
    expect(() => parsePax(Buffer.from('99 path=x\n'))).toThrow(/pax/);
  });
});

// pg_basebackup writes after the first end-of-archive block: a reader that
// closes the pipe there kills it with SIGPIPE and fails a complete backup.
describe('readTarToEnd', () => {
  /** A writer like pg_basebackup: the archive, a pause, then more zero blocks. Resolves with its exit code. */
  async function writerExit(read: (stdout: Readable) => Promise<void>): Promise<number | null> {
    const file = join(dir, 'writer.tar');
    execFileSync('tar', ['-cf', file, '-C', join(dir, 'src'), 'PG_VERSION', 'base']);
    const child = spawn('sh', ['-c', `cat '${file}'; sleep 0.3; head -c 262144 /dev/zero`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await read(child.stdout);
    child.stdout.destroy(); // what is left after the reader: nothing for readTarToEnd
    return exited;
  }

  it('reads the writer to its end, so it exits 0 (the plain reader breaks its pipe)', async () => {
    const names: string[] = [];
    const drained = await writerExit(async (stdout) => {
      for await (const { entry } of readTarToEnd(stdout)) names.push(entry.name);
    });
    expect(names).toContain('base/1/1259');
    expect(drained).toBe(0);
    // The same writer against the reader that stops at the marker: the case this guards against.
    const broken = await writerExit(async (stdout) => {
      for await (const _ of readTar(stdout)) void _;
    });
    expect(broken).not.toBe(0);
  });

  it('destroys the stream when the caller stops early', async () => {
    const file = join(dir, 'early.tar');
    execFileSync('tar', ['-cf', file, '-C', join(dir, 'src'), 'PG_VERSION', 'base']);
    const child = spawn('sh', ['-c', `cat '${file}'; sleep 5`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      for await (const _ of readTarToEnd(child.stdout)) break;
      expect(child.stdout.destroyed).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
