/**
 * The admin (or operator, auditor) credentials `pbk-coordinator init` writes:
 * a directory with the CA that signed the coordinator, a client certificate
 * and its key. Only paths are ever taken from the command line or the
 * environment, never key material (DESIGN.md decision 16).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CredentialsError } from './errors.js';

export const CREDENTIAL_FILES = { ca: 'ca.pem', cert: 'client.pem', key: 'client.key' } as const;

export interface Credentials {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Reads and checks the directory before any connection: every missing file
 * named at once, a key readable or writable by group or others refused (like
 * ssh does), the key matching the certificate, the certificate still valid.
 */
export async function loadCredentials(dirArg: string, now: number = Date.now()): Promise<Credentials> {
  const dir = resolve(dirArg);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    throw new CredentialsError(`credentials directory ${dir} does not exist: pass the directory pbk-coordinator init wrote (--credentials or PBK_CREDENTIALS)`, dir);
  }
  const paths = { ca: join(dir, CREDENTIAL_FILES.ca), cert: join(dir, CREDENTIAL_FILES.cert), key: join(dir, CREDENTIAL_FILES.key) };
  const stats = {
    ca: await stat(paths.ca).catch(() => undefined),
    cert: await stat(paths.cert).catch(() => undefined),
    key: await stat(paths.key).catch(() => undefined),
  };
  const missing = (Object.keys(paths) as (keyof typeof paths)[]).filter((k) => !stats[k]?.isFile()).map((k) => CREDENTIAL_FILES[k]);
  if (missing.length === Object.keys(paths).length) {
    throw new CredentialsError(`${dir} holds none of ${missing.join(', ')}: pass the directory pbk-coordinator init wrote (--credentials or PBK_CREDENTIALS)`, dir);
  }
  if (missing.length > 0) {
    throw new CredentialsError(`credentials directory ${dir} lacks ${missing.join(', ')}: it needs ${Object.values(CREDENTIAL_FILES).join(', ')}`, dir);
  }
  const keyMode = (stats.key?.mode ?? 0) & 0o777;
  if ((keyMode & 0o077) !== 0) {
    throw new CredentialsError(
      `${paths.key} is accessible by group or others (mode ${keyMode.toString(8).padStart(4, '0')}); refusing to use it: run chmod 600 ${paths.key}`,
      paths.key,
    );
  }

  const [caPem, certPem, keyPem] = await Promise.all([readText(paths.ca), readText(paths.cert), readText(paths.key)]);
  const cert = parseCertificate(certPem, paths.cert);
  parseCertificate(caPem, paths.ca);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CredentialsError(`${paths.key} is not a PEM private key`, paths.key, { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CredentialsError(`${paths.cert} and ${paths.key} do not belong together (the key is not the certificate's)`, paths.cert);
  }
  const notAfter = Date.parse(cert.validTo);
  if (Number.isFinite(notAfter) && notAfter <= now) {
    throw new CredentialsError(`${paths.cert} expired on ${new Date(notAfter).toISOString()}: ask an admin for a new one`, paths.cert);
  }
  return { dir, caPem, certPem, keyPem };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CredentialsError(`cannot read ${path}: ${(err as Error).message}`, path, { cause: err });
  }
}

function parseCertificate(pem: string, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CredentialsError(`${path} is not a PEM certificate`, path, { cause: err });
  }
}
