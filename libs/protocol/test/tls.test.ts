import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateFingerprint,
  createCa,
  createKeyAndCsr,
  identityFromCall,
  issueServerCert,
  peerIdentity,
  requireRole,
  signCsr,
  writeCertificateFile,
  writePrivateKeyFile,
  type KeyAndCert,
} from '../src/tls.js';

let ca: KeyAndCert;
let dir: string;

beforeAll(async () => {
  ca = await createCa({ commonName: 'pbk test CA', validDays: 30 });
  dir = await mkdtemp(join(tmpdir(), 'pbk-tls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CA and certificates', () => {
  it('creates a P-256 CA that may sign only end-entity certificates', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new x509.X509Certificate(ca.certPem).getExtension(x509.BasicConstraintsExtension)?.pathLength).toBe(0);
    expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe('ec');
  });

  it('issues a server certificate for the given names, signed by the CA', async () => {
    const server = await issueServerCert(ca, { hostnames: ['localhost', 'coord.example'], ips: ['127.0.0.1', '::1'] });
    const cert = new X509Certificate(server.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkHost('coord.example')).toBe('coord.example');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBeTruthy();
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    // A server certificate is no client identity.
    expect(() => peerIdentity(server.certPem)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });
});

describe('CSR round trip', () => {
  it('signs an agent CSR: the key stays with the requester, role and host come back', async () => {
    const requester = await createKeyAndCsr({ commonName: 'whatever-the-agent-asks' });
    // Only the CSR crosses to the CA.
    const certPem = await signCsr(ca, requester.csrPem, { role: 'agent', host: 'db-1.example', validDays: 90 });
    const cert = new X509Certificate(certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    // The certificate is for the requester's key, which never left it.
    expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      createPublicKey(createPrivateKey(requester.keyPem)).export({ format: 'der', type: 'spki' }),
    );
    expect(certPem).not.toContain('PRIVATE KEY');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(cert.subjectAltName).toBe('URI:pbk://role/agent/host/db-1.example');

    const id = peerIdentity(certPem);
    expect(id.role).toBe('agent');
    expect(id.host).toBe('db-1.example');
    expect(id.commonName).toBe('db-1.example'); // the CA's choice, not the CSR's
    expect(id.serial).toBe(cert.serialNumber.toLowerCase());
    expect(id.fingerprint).toBe(certificateFingerprint(certPem));
    expect(id.fingerprint).toBe(cert.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(id.notAfter.getTime()).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    // PEM, DER and a PeerCertificate-like all parse the same.
    expect(peerIdentity(cert.raw)).toEqual(id);
    expect(peerIdentity({ raw: cert.raw })).toEqual(id);
  });

  it.each(['operator', 'auditor', 'admin'] as const)('signs a %s certificate without a host', async (role) => {
    const { csrPem } = await createKeyAndCsr({ commonName: role });
    const id = peerIdentity(await signCsr(ca, csrPem, { role, validDays: 1 }));
    expect([id.role, id.host]).toEqual([role, undefined]);
  });

  it('refuses an agent without host, a bad host and an unknown role', async () => {
    const { csrPem } = await createKeyAndCsr({ commonName: 'x' });
    await expect(signCsr(ca, csrPem, { role: 'agent', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(signCsr(ca, csrPem, { role: 'agent', host: 'a/host/b', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(signCsr(ca, csrPem, { role: 'root' as 'admin', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a CSR that is not signed by its key, is not a CSR, or is not P-256', async () => {
    const a = await createKeyAndCsr({ commonName: 'a' });
    // The signature is the last field of the DER: flip its final byte.
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(a.csrPem).rawData);
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const tamperedPem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signCsr(ca, tamperedPem, { role: 'operator', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(signCsr(ca, 'not a csr', { role: 'operator', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(signCsr(ca, a.keyPem, { role: 'operator', validDays: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr384 = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: p384, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } });
    await expect(signCsr(ca, csr384.toString('pem'), { role: 'operator', validDays: 1 })).rejects.toThrow(/P-256/);
  });
});

describe('identity from a call', () => {
  it('is UNAUTHENTICATED without a verified certificate', () => {
    expect(() => identityFromCall({ getAuthContext: () => ({}) })).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => identityFromCall({ getAuthContext: () => null })).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });

  it('checks roles with PERMISSION_DENIED', async () => {
    const { csrPem } = await createKeyAndCsr({ commonName: 'a' });
    const id = peerIdentity(await signCsr(ca, csrPem, { role: 'auditor', validDays: 1 }));
    expect(requireRole(id, ['auditor', 'admin'])).toBe(id);
    expect(() => requireRole(id, ['operator', 'admin'])).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });
});

describe('key files', () => {
  it('writes private keys 0600 and certificates 0644, whatever the umask, replacing old files', async () => {
    const old = process.umask(0);
    try {
      const keyPath = join(dir, 'agent.key');
      await writeFile(keyPath, 'old', { mode: 0o666 });
      await writePrivateKeyFile(keyPath, ca.keyPem);
      expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
      expect(await readFile(keyPath, 'utf8')).toBe(ca.keyPem);

      const certPath = join(dir, 'agent.crt');
      await writeCertificateFile(certPath, ca.certPem);
      expect((await stat(certPath)).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });
});
