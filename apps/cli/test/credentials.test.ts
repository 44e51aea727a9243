// Credential loading: 0600 accepted, 0644 refused with the chmod to run,
// missing files named, mismatched or expired material refused, all exit 4.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createKeyAndCsr, signCsr, writeCertificateFile, writePrivateKeyFile, type KeyAndCert } from '@pbk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials } from '../src/credentials.js';
import { CredentialsError } from '../src/errors.js';
import { run } from '../src/main.js';
import { fakeIo } from './helpers.js';

let root: string;
let ca: KeyAndCert;
let admin: KeyAndCert;
let other: KeyAndCert;

async function dirWith(name: string, files: { ca?: string; cert?: string; key?: string }, keyMode = 0o600): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  if (files.ca !== undefined) await writeCertificateFile(join(dir, 'ca.pem'), files.ca);
  if (files.cert !== undefined) await writeCertificateFile(join(dir, 'client.pem'), files.cert);
  if (files.key !== undefined) {
    await writePrivateKeyFile(join(dir, 'client.key'), files.key);
    await chmod(join(dir, 'client.key'), keyMode);
  }
  return dir;
}

async function refusal(dir: string): Promise<CredentialsError> {
  return loadCredentials(dir).then(
    () => expect.unreachable('loadCredentials should refuse'),
    (e: unknown) => {
      expect(e).toBeInstanceOf(CredentialsError);
      return e as CredentialsError;
    },
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pbk-cli-creds-'));
  ca = await createCa({ commonName: 'test CA', validDays: 1 });
  const mk = async (): Promise<KeyAndCert> => {
    const { keyPem, csrPem } = await createKeyAndCsr({ commonName: 'admin' });
    return { keyPem, certPem: await signCsr(ca, csrPem, { role: 'admin', validDays: 1 }) };
  };
  admin = await mk();
  other = await mk();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadCredentials', () => {
  it('accepts a complete directory with a 0600 key', async () => {
    const dir = await dirWith('good', { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem });
    const creds = await loadCredentials(dir);
    expect(creds).toEqual({ dir, caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem });
  });

  it('also accepts 0400', async () => {
    const dir = await dirWith('readonly', { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem }, 0o400);
    await expect(loadCredentials(dir)).resolves.toMatchObject({ dir });
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o606])('refuses a key with mode %o and says how to fix it', async (mode) => {
    const dir = await dirWith(`mode-${mode.toString(8)}`, { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem }, mode);
    const err = await refusal(dir);
    expect(err.message).toContain(`mode 0${mode.toString(8)}`);
    expect(err.message).toContain(`chmod 600 ${join(dir, 'client.key')}`);
    expect(err.path).toBe(join(dir, 'client.key'));
  });

  it('names every missing file', async () => {
    const dir = await dirWith('partial', { cert: admin.certPem });
    const err = await refusal(dir);
    expect(err.message).toContain('lacks ca.pem, client.key');
    expect(err.message).not.toContain('lacks ca.pem, client.pem');
  });

  it('names an empty or missing directory', async () => {
    const empty = await dirWith('empty', {});
    expect((await refusal(empty)).message).toMatch(/holds none of ca\.pem, client\.pem, client\.key/);
    expect((await refusal(join(root, 'nope'))).message).toMatch(/credentials directory .*nope does not exist/);
  });

  it('refuses a key that is not the certificate\'s, and garbage', async () => {
    const mismatch = await dirWith('mismatch', { ca: ca.certPem, cert: admin.certPem, key: other.keyPem });
    expect((await refusal(mismatch)).message).toMatch(/do not belong together/);
    const garbage = await dirWith('garbage', { ca: ca.certPem, cert: 'not a certificate', key: admin.keyPem });
    expect((await refusal(garbage)).message).toMatch(/client\.pem is not a PEM certificate/);
    const badKey = await dirWith('badkey', { ca: ca.certPem, cert: admin.certPem, key: 'nope' });
    expect((await refusal(badKey)).message).toMatch(/client\.key is not a PEM private key/);
  });

  it('refuses an expired certificate', async () => {
    const dir = await dirWith('expired', { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem });
    const err = await loadCredentials(dir, Date.now() + 3 * 86_400_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toMatch(/expired on/);
  });

  it('turns a refusal into exit 4 with the reason on stderr, before any connection', async () => {
    const dir = await dirWith('cli-644', { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem }, 0o644);
    // Port 1 would fail as "unreachable" (5): exit 4 proves nothing was dialed.
    const io = fakeIo({ env: { PBK_COORDINATOR: '127.0.0.1:1', PBK_CREDENTIALS: dir } });
    expect(await run(['status'], io)).toBe(4);
    expect(io.stderrText()).toMatch(/accessible by group or others \(mode 0644\); refusing to use it/);
    const json = fakeIo({ env: { PBK_COORDINATOR: '127.0.0.1:1' } });
    expect(await run(['status', '--json', '--credentials', dir], json)).toBe(4);
    expect(JSON.parse(json.stderrText())).toEqual({ error: { code: 'CREDENTIALS', message: expect.stringMatching(/chmod 600/) } });
  });
});
