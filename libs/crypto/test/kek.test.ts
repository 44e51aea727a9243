import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoError, IntegrityError, InvalidArgumentError, KeyFileError, WrongKeyError } from '../src/errors.js';
import { DEFAULT_SCRYPT, checkKek, createKeyFile, deriveKekFromPassphrase, kekFromEnv, kekVerifier, newScryptParams, readKeyFile } from '../src/kek.js';
import { caught } from './helpers.js';

// Cheap scrypt for tests: 1 MiB, a few ms.
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('KEK verifier', () => {
  it('is HMAC-SHA-256(key, "pbk kek verifier v1") and checkKek accepts the right key', () => {
    const key = randomBytes(32);
    const v = kekVerifier(key);
    expect(v.length).toBe(32);
    expect(() => checkKek({ version: 3, key }, v)).not.toThrow();
  });

  it('checkKek throws WrongKeyError{kekVersion} for another key', () => {
    const v = kekVerifier(randomBytes(32));
    const err = caught(() => checkKek({ version: 3, key: randomBytes(32) }, v)) as WrongKeyError;
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(err).toBeInstanceOf(CryptoError);
    expect(err.code).toBe('WRONG_KEY');
    expect(err.name).toBe('WrongKeyError');
    expect(err.kekVersion).toBe(3);
    expect(err.message).toMatch(/KEK version 3/);
    expect(err.message).toMatch(/passphrase/);
  });

  it('a verifier of the wrong length is a damaged record, not a wrong key', () => {
    expect(caught(() => checkKek({ version: 1, key: randomBytes(32) }, Buffer.alloc(31)))).toBeInstanceOf(IntegrityError);
  });
});

describe('passphrase KEKs (scrypt)', () => {
  it('defaults to N=2**17, r=8, p=1 with a fresh 16-byte salt', () => {
    const a = newScryptParams();
    const b = newScryptParams();
    expect({ N: a.N, r: a.r, p: a.p }).toEqual(DEFAULT_SCRYPT);
    expect(DEFAULT_SCRYPT).toEqual({ N: 131072, r: 8, p: 1 });
    expect(Buffer.from(a.salt, 'base64').length).toBe(16);
    expect(a.salt).not.toBe(b.salt);
  });

  it('derives the same key for the same passphrase and params; the wrong passphrase fails checkKek', async () => {
    const params = newScryptParams(CHEAP);
    const key = await deriveKekFromPassphrase('correct horse battery staple', params);
    expect(key.length).toBe(32);
    const verifier = kekVerifier(key);
    const again = await deriveKekFromPassphrase(Buffer.from('correct horse battery staple'), params);
    expect(() => checkKek({ version: 1, key: again }, verifier)).not.toThrow();
    const wrong = await deriveKekFromPassphrase('correct horse battery stapler', params);
    expect(caught(() => checkKek({ version: 1, key: wrong }, verifier))).toBeInstanceOf(WrongKeyError);
    // Another salt gives another key.
    const other = await deriveKekFromPassphrase('correct horse battery staple', newScryptParams(CHEAP));
    expect(other.equals(key)).toBe(false);
  });

  it('the default N=2**17 works (maxmem is raised for it)', async () => {
    const key = await deriveKekFromPassphrase('pw', newScryptParams());
    expect(key.length).toBe(32);
  });

  it('normalises strings to NFC so composed and decomposed input give one key', async () => {
    const params = newScryptParams(CHEAP);
    const composed = await deriveKekFromPassphrase('caf\u00e9', params);
    const decomposed = await deriveKekFromPassphrase('cafe\u0301', params);
    expect(composed.equals(decomposed)).toBe(true);
  });

  it('refuses bad parameters, short salts, empty passphrases and excessive memory', async () => {
    expect(caught(() => newScryptParams({ N: 1000 }))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => newScryptParams({ r: 0 }))).toBeInstanceOf(InvalidArgumentError);
    expect(caught(() => newScryptParams({ N: 2 ** 21, r: 8 }))).toBeInstanceOf(InvalidArgumentError);
    const params = newScryptParams(CHEAP);
    expect(await rejection(deriveKekFromPassphrase('', params))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(deriveKekFromPassphrase('x', { ...params, salt: randomBytes(8).toString('base64') }))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(deriveKekFromPassphrase('x', { ...params, N: 2 ** 30 }))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('kekFromEnv', () => {
  it('reads base64 of 32 bytes', () => {
    const key = randomBytes(32);
    expect(kekFromEnv({ PBK_KEK: key.toString('base64') + '\n' }, 'PBK_KEK').equals(key)).toBe(true);
  });

  it('names the variable when it is missing or malformed, never the value', () => {
    const missing = caught(() => kekFromEnv({}, 'PBK_KEK')) as CryptoError;
    expect(missing).toBeInstanceOf(InvalidArgumentError);
    expect(missing.message).toMatch(/PBK_KEK is not set/);
    const secretish = randomBytes(16).toString('base64');
    const short = caught(() => kekFromEnv({ PBK_KEK: secretish }, 'PBK_KEK')) as CryptoError;
    expect(short.code).toBe('INVALID_ARGUMENT');
    expect(short.message).toMatch(/PBK_KEK/);
    expect(short.message).not.toContain(secretish);
    expect(caught(() => kekFromEnv({ PBK_KEK: 'not base64 at all, not at all, not at all!!' }, 'PBK_KEK'))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('key files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbk-crypto-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 file whatever the umask, and reads it back', async () => {
    for (const [i, mask] of [0o000, 0o022, 0o277].entries()) {
      const path = join(dir, `kek-${i}`);
      const old = process.umask(mask);
      let key: Buffer;
      try {
        key = await createKeyFile(path);
      } finally {
        process.umask(old);
      }
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readFile(path, 'ascii')).toBe(key.toString('base64') + '\n');
      expect((await readKeyFile(path)).equals(key)).toBe(true);
    }
  });

  it('refuses to overwrite an existing file', async () => {
    const path = join(dir, 'kek-existing');
    const key = await createKeyFile(path);
    const err = (await rejection(createKeyFile(path))) as KeyFileError;
    expect(err).toBeInstanceOf(KeyFileError);
    expect(err.code).toBe('KEY_FILE');
    expect(err.path).toBe(path);
    expect(err.message).toMatch(/already exists/);
    expect((await readKeyFile(path)).equals(key)).toBe(true);
  });

  it('refuses a file readable by group or other, saying chmod 600', async () => {
    const path = join(dir, 'kek-0644');
    await writeFile(path, randomBytes(32).toString('base64') + '\n');
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(path, mode);
      const err = (await rejection(readKeyFile(path))) as KeyFileError;
      expect(err).toBeInstanceOf(KeyFileError);
      expect(err.path).toBe(path);
      expect(err.message).toContain(`chmod 600 ${path}`);
    }
    await chmod(path, 0o400);
    expect((await readKeyFile(path)).length).toBe(32);
  });

  it('rejects the wrong length, bad encoding, a directory and a missing file', async () => {
    const cases: Record<string, string> = {
      short: randomBytes(16).toString('base64') + '\n',
      long: randomBytes(48).toString('base64') + '\n',
      junk: '!'.repeat(43) + '=\n',
      empty: '',
    };
    for (const [name, content] of Object.entries(cases)) {
      const path = join(dir, `kek-${name}`);
      await writeFile(path, content, { mode: 0o600 });
      await chmod(path, 0o600);
      const err = (await rejection(readKeyFile(path))) as KeyFileError;
      expect(err, name).toBeInstanceOf(KeyFileError);
      expect(err.code, name).toBe('KEY_FILE');
      if (content.trim() !== '') expect(err.message, name).not.toContain(content.trim());
    }
    expect(await rejection(readKeyFile(join(dir, 'missing')))).toBeInstanceOf(KeyFileError);
    expect(await rejection(createKeyFile(join(dir, 'no-such-dir', 'kek')))).toBeInstanceOf(KeyFileError);
  });
});
