/**
 * Mutual TLS for pbk: a private CA the coordinator creates, server and client
 * certificates with ECDSA P-256 keys, and the identity a certificate carries.
 *
 * Identity encoding: every client certificate has exactly one SAN URI
 *   pbk://role/<role>              operator, auditor, admin
 *   pbk://role/agent/host/<host>   agents (host required)
 * A URI SAN, not the subject CN, because it is a typed, unambiguous field that
 * TLS stacks never interpret as a hostname; the CN only mirrors it for humans.
 * The role and host are written by the CA (signCsr), never taken from the CSR.
 */
import { createHash, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, basename, join } from 'node:path';
import { connect, createSecureContext, DEFAULT_CIPHERS, type PeerCertificate } from 'node:tls';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { PermissionDeniedError, ProtocolError, UnauthenticatedError } from './errors.js';

// @peculiar/x509 runs on WebCrypto; Node's implementation is the one we trust.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const ROLES = ['agent', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface KeyAndCert {
  certPem: string;
  /** PKCS#8 PEM. Write it with writePrivateKeyFile (mode 0600). */
  keyPem: string;
}

export interface KeyAndCsr {
  keyPem: string;
  csrPem: string;
}

export interface PeerIdentity {
  role: Role;
  /** The host an agent certificate is bound to; undefined for other roles. */
  host: string | undefined;
  /** Certificate serial number, lower-case hex: what a revocation list names. */
  serial: string;
  /** SHA-256 of the certificate's DER, lower-case hex. */
  fingerprint: string;
  commonName: string;
  notAfter: Date;
}

const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const URI_PREFIX = 'pbk://role/';
/** Host names as DNS labels allow, so the URI needs no escaping and parses one way only. */
const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
const IDENTITY_URI_RE = /^pbk:\/\/role\/(agent|operator|auditor|admin)(?:\/host\/([^/]+))?$/;
/** Certificates start slightly in the past so a peer whose clock lags a little accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The SAN URI that carries a role (and an agent's host). */
export function identityUri(role: Role, host?: string): string {
  if (!ROLES.includes(role)) throw new ProtocolError('INVALID_ARGUMENT', `unknown role ${JSON.stringify(role)}: use one of ${ROLES.join(', ')}`);
  if (role === 'agent' && host === undefined) throw new ProtocolError('INVALID_ARGUMENT', 'an agent certificate needs the host it is enrolled for');
  if (host === undefined) return `${URI_PREFIX}${role}`;
  if (!HOST_RE.test(host)) throw new ProtocolError('INVALID_ARGUMENT', `host ${JSON.stringify(host)} is not a valid host name (letters, digits, '.', '-', '_')`);
  return `${URI_PREFIX}${role}/host/${host}`;
}

/** Creates the coordinator's CA: a self-signed certificate that may only sign end-entity certificates. */
export async function createCa(options: { commonName: string; validDays: number }): Promise<KeyAndCert> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ CN: [options.commonName] }, { O: ['pbk'] }],
    ...validity(options.validDays),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLength 0: a leaked leaf key can never mint further certificates.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** Issues the coordinator's server certificate for the names and addresses clients dial. */
export async function issueServerCert(
  ca: KeyAndCert,
  options: { hostnames: string[]; ips?: string[]; commonName?: string; validDays?: number },
): Promise<KeyAndCert> {
  const ips = options.ips ?? [];
  if (options.hostnames.length + ips.length === 0) throw new ProtocolError('INVALID_ARGUMENT', 'a server certificate needs at least one hostname or IP address');
  for (const ip of ips) if (isIP(ip) === 0) throw new ProtocolError('INVALID_ARGUMENT', `${JSON.stringify(ip)} is not an IP address`);
  const keys = await generateKeys();
  const names: x509.JsonGeneralName[] = [
    ...options.hostnames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const certPem = await issue(ca, keys.publicKey, {
    commonName: options.commonName ?? options.hostnames[0] ?? ips[0] ?? 'pbk-coordinator',
    validDays: options.validDays ?? 825,
    names,
    usage: x509.ExtendedKeyUsage.serverAuth,
  });
  return { certPem, keyPem: await exportPrivateKey(keys.privateKey) };
}

/** A fresh key and a CSR for it. Run on the requesting host: only the CSR leaves it. */
export async function createKeyAndCsr(options: { commonName: string }): Promise<KeyAndCsr> {
  const keys = await generateKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [options.commonName] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return { keyPem: await exportPrivateKey(keys.privateKey), csrPem: csr.toString('pem') };
}

/**
 * Signs a CSR as a client certificate for a role (and, for agents, a host).
 * Checks the CSR's self-signature (proof the requester holds the key) and that
 * the key is ECDSA P-256; the subject and extensions it asks for are ignored.
 */
export async function signCsr(
  ca: KeyAndCert,
  csrPem: string,
  options: { role: Role; host?: string; validDays: number; commonName?: string },
): Promise<string> {
  const uri = identityUri(options.role, options.host);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new ProtocolError('INVALID_ARGUMENT', 'the certificate request is not a PEM PKCS#10 CSR', { cause: err });
  }
  const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
    throw new ProtocolError('INVALID_ARGUMENT', `the certificate request's key must be ECDSA P-256, not ${alg.name ?? '?'} ${alg.namedCurve ?? ''}`.trim());
  }
  if (!(await csr.verify())) throw new ProtocolError('INVALID_ARGUMENT', 'the certificate request is not signed by its own key');
  return issue(ca, csr.publicKey, {
    commonName: options.commonName ?? (options.host === undefined ? `pbk-${options.role}` : options.host),
    organizationalUnit: options.role,
    validDays: options.validDays,
    names: [{ type: 'url', value: uri }],
    usage: x509.ExtendedKeyUsage.clientAuth,
  });
}

/**
 * Reads the pbk identity from a certificate (PEM, DER, or a Node PeerCertificate).
 * Parses only: it trusts that TLS has already verified the chain.
 */
export function peerIdentity(cert: string | Buffer | Pick<PeerCertificate, 'raw'>): PeerIdentity {
  const der = typeof cert === 'string' ? undefined : Buffer.isBuffer(cert) ? cert : cert.raw;
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(der ?? (cert as string));
  } catch (err) {
    throw new UnauthenticatedError('the peer certificate cannot be parsed', { cause: err });
  }
  const raw = der ?? Buffer.from(parsed.rawData);
  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === 'url' && n.value.startsWith('pbk://')).map((n) => n.value);
  if (uris.length !== 1) {
    throw new UnauthenticatedError(
      uris.length === 0
        ? 'the client certificate carries no pbk identity (SAN URI pbk://role/...): it was not issued by pbk-coordinator'
        : 'the client certificate carries more than one pbk identity',
    );
  }
  const m = IDENTITY_URI_RE.exec(uris[0] ?? '');
  const role = m?.[1] as Role | undefined;
  const host = m?.[2];
  if (!m || role === undefined || (host !== undefined && !HOST_RE.test(host)) || (role === 'agent') !== (host !== undefined)) {
    throw new UnauthenticatedError(`the client certificate's pbk identity ${JSON.stringify(uris[0])} is malformed`);
  }
  return {
    role,
    host,
    serial: parsed.serialNumber.toLowerCase(),
    fingerprint: sha256Hex(raw),
    commonName: parsed.subjectName.getField('CN')[0] ?? '',
    notAfter: parsed.notAfter,
  };
}

/** The part of a grpc-js server call that exposes the TLS peer (grpc-js >= 1.10: `getAuthContext()`). */
export interface CallWithAuthContext {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * The verified identity of the caller of a grpc-js server call. grpc-js 1.14
 * reports `sslPeerCertificate` only when the TLS socket verified the client
 * certificate against our CA, so anything else is UNAUTHENTICATED.
 */
export function identityFromCall(call: CallWithAuthContext): PeerIdentity {
  const ctx = call.getAuthContext();
  const cert = ctx?.sslPeerCertificate;
  if (ctx?.transportSecurityType !== 'ssl' || !cert?.raw) {
    throw new UnauthenticatedError('no verified client certificate on this connection: enroll first (pbk-agent enroll) or pass --credentials');
  }
  // Parsing X.509 on every call cost the coordinator more CPU than the backups it served;
  // the verified certificate's DER bytes key a small cache of parsed identities.
  const key = cert.raw.toString('base64');
  let identity = identityCache.get(key);
  if (!identity) {
    identity = peerIdentity(cert);
    if (identityCache.size >= IDENTITY_CACHE_SIZE) identityCache.delete(identityCache.keys().next().value!);
    identityCache.set(key, identity);
  }
  return identity;
}

/** Distinct client certificates remembered (one per agent and operator); oldest dropped first. */
const IDENTITY_CACHE_SIZE = 1024;
const identityCache = new Map<string, PeerIdentity>();

/** Throws PERMISSION_DENIED unless the identity holds one of the roles. */
export function requireRole(identity: PeerIdentity, roles: readonly Role[]): PeerIdentity {
  if (!roles.includes(identity.role)) {
    throw new PermissionDeniedError(`role ${identity.role} may not do this; it needs ${roles.join(' or ')}`);
  }
  return identity;
}

/** identityFromCall + requireRole: the one line every handler starts with. */
export function authorize(call: CallWithAuthContext, roles: readonly Role[]): PeerIdentity {
  return requireRole(identityFromCall(call), roles);
}

/**
 * TLS 1.3 cipher suites of every pbk server and client, in order of
 * preference (a Node.js server picks by its own order). AES-128-GCM first,
 * as Go and BoringSSL order them on hardware with AES instructions: it is a
 * mandatory TLS 1.3 suite, and on a raw TLS socket here it costs ~0.9 of
 * AES-256-GCM's CPU per byte (bench:wire, both ends). Every byte a backup
 * uploads has already been sealed with AES-256-GCM under its DEK; TLS
 * protects the session around it.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  // Node's own TLS 1.2 list after them: a list of TLS 1.3 suites alone would turn TLS 1.2 off.
  ...DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')),
].join(':');

/**
 * grpc-js server credentials. The CA is appended to the served chain so an
 * enrolling agent can pin it (fetchPinnedCa). requireClientCert: the TLS
 * handshake itself rejects clients without a certificate from our CA.
 */
export function serverCredentials(options: { caPem: string; certPem: string; keyPem: string; requireClientCert: boolean }): ServerCredentials {
  const chain = `${options.certPem.trim()}\n${options.caPem.trim()}\n`;
  // What ServerCredentials.createSsl builds, with our cipher order instead of GRPC_SSL_CIPHER_SUITES from the environment.
  return new PbkServerCredentials(
    { requestCert: options.requireClientCert, ciphers: TLS_CIPHERS },
    { ca: Buffer.from(options.caPem), cert: [Buffer.from(chain)], key: [Buffer.from(options.keyPem)] },
  );
}

class PbkServerCredentials extends ServerCredentials {
  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** grpc-js channel credentials trusting only our CA; with certPem/keyPem the client authenticates too. */
export function channelCredentials(options: { caPem: string; certPem?: string; keyPem?: string }): ChannelCredentials {
  if ((options.certPem === undefined) !== (options.keyPem === undefined)) {
    throw new ProtocolError('INVALID_ARGUMENT', 'a client certificate needs its private key, and a key its certificate');
  }
  // createSsl would take its cipher list from GRPC_SSL_CIPHER_SUITES in the environment: ours is set here.
  return credentials.createFromSecureContext(createSecureContext({
    ca: options.caPem,
    ...(options.keyPem === undefined ? {} : { key: options.keyPem, cert: options.certPem }),
    ciphers: TLS_CIPHERS,
  }));
}

/** SHA-256 of a certificate's DER, lower-case hex: what an enrollment token pins. */
export function certificateFingerprint(certPem: string): string {
  return sha256Hex(new NodeX509(certPem).raw);
}

/**
 * Fetches the CA certificate an enrollment listener presents and returns it
 * only if its SHA-256 matches the pinned fingerprint (from the enrollment
 * token) and it signed the listener's certificate. The caller then connects
 * with full verification against it: trust comes from the token, not the network.
 */
export async function fetchPinnedCa(options: { host: string; port: number; fingerprint: string; timeoutMs?: number }): Promise<string> {
  const pin = normalizeFingerprint(options.fingerprint);
  const where = `${options.host}:${options.port}`;
  const chain = await new Promise<PeerCertificate[]>((resolve, reject) => {
    const socket = connect({
      host: options.host,
      port: options.port,
      servername: isIP(options.host) === 0 ? options.host : undefined,
      // Verification happens below against the pin; the CA is not trusted yet.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProtocolError('UNAVAILABLE', `no TLS answer from ${where} within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const certs: PeerCertificate[] = [];
      const seen = new Set<string>();
      for (let c: PeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); ) {
        seen.add(c.fingerprint256);
        certs.push(c);
        c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.destroy();
      resolve(certs);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new ProtocolError('UNAVAILABLE', `cannot reach the enrollment listener at ${where}: ${err.message}`, { cause: err }));
    });
  });
  const leaf = chain[0];
  const ca = chain.find((c) => sha256Hex(c.raw) === pin);
  if (leaf === undefined || ca === undefined) {
    throw new UnauthenticatedError(`${where} does not present the CA named by the enrollment token: wrong address, or someone in between`);
  }
  const caCert = new NodeX509(ca.raw);
  if (!caCert.ca || !new NodeX509(leaf.raw).verify(caCert.publicKey)) {
    throw new UnauthenticatedError(`${where} presents the pinned CA, but its certificate was not issued by it`);
  }
  return caCert.toString();
}

/** Writes a private key atomically with mode 0600 (temp file, fsync, rename), whatever the umask. */
export async function writePrivateKeyFile(path: string, keyPem: string): Promise<void> {
  await writeFileAtomic(path, keyPem, 0o600);
}

/** Writes a certificate atomically with mode 0644: certificates are public. */
export async function writeCertificateFile(path: string, certPem: string): Promise<void> {
  await writeFileAtomic(path, certPem, 0o644);
}

async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' + mode: the file is created with its final mode, never briefly world-readable.
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.chmod(mode); // the umask may have narrowed or the FS ignored the create mode
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}

interface IssueOptions {
  commonName: string;
  organizationalUnit?: string;
  validDays: number;
  names: x509.JsonGeneralName[];
  usage: x509.ExtendedKeyUsage;
}

async function issue(ca: KeyAndCert, publicKey: x509.PublicKey | CryptoKey, options: IssueOptions): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const signingKey = await importPrivateKey(ca.keyPem);
  const subject: x509.JsonName = [{ CN: [options.commonName] }, { O: ['pbk'] }];
  if (options.organizationalUnit !== undefined) subject.push({ OU: [options.organizationalUnit] });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject,
    issuer: caCert.subjectName,
    ...validity(options.validDays),
    publicKey,
    signingKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([options.usage], false),
      new x509.SubjectAlternativeNameExtension(options.names, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return cert.toString('pem');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importPrivateKey(keyPem: string): Promise<CryptoKey> {
  const b64 = keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  try {
    return (await webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), EC_ALGORITHM, false, ['sign'])) as CryptoKey;
  } catch (err) {
    throw new ProtocolError('INVALID_ARGUMENT', 'the CA private key is not a PKCS#8 ECDSA P-256 key', { cause: err });
  }
}

function validity(validDays: number): { notBefore: Date; notAfter: Date } {
  if (!(validDays > 0)) throw new ProtocolError('INVALID_ARGUMENT', `validDays must be positive, not ${validDays}`);
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS) };
}

/** 128 random bits with the top bit clear: unique, and a positive DER INTEGER as RFC 5280 requires. */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

function sha256Hex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

function normalizeFingerprint(fp: string): string {
  const hex = fp.trim().toLowerCase().replace(/^sha256:/, '').replace(/:/g, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new ProtocolError('INVALID_ARGUMENT', 'a CA fingerprint is 64 hex digits (SHA-256), optionally with colons');
  return hex;
}
