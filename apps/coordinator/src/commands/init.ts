/**
 * `pbk-coordinator init --data DIR [--san NAME...]`: creates the data
 * directory exactly as docs/agent-coordinator.md lays it out. Refuses a
 * directory that is initialized already, or that holds anything else (an
 * interrupted init is removed by hand: it may hold a KEK someone copied).
 * coordinator.json is written last, so a directory with it is complete.
 */
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { createKeyFile } from '@pbk/crypto';
import { certificateFingerprint, createCa, createKeyAndCsr, issueServerCert, signCsr, writeCertificateFile, writePrivateKeyFile } from '@pbk/protocol';
import { LocalBackend, Repository, type Logger } from '@pbk/storage';
import { parseFlags, usageOf, type FlagSpecs } from '../args.js';
import { openCatalog, redactUrl } from '../catalog/index.js';
import { CATALOG_URL_ENV, dataPaths, DEFAULT_FILE_CONFIG, type FileConfig } from '../config.js';
import { CoordinatorError } from '../errors.js';

export const INIT_FLAGS = {
  data: { value: 'DIR', required: true, help: 'data directory to create (must not exist, or be empty)' },
  san: { value: 'NAME', repeat: true, help: 'extra DNS name or IP for the server certificate (how agents and the CLI dial it)' },
  region: { value: 'NAME', help: `region name shown by pbk status (default ${DEFAULT_FILE_CONFIG.region})` },
} satisfies FlagSpecs;

export const INIT_USAGE = usageOf(
  'init',
  `create a data directory: CA, server certificate, KEK, token key, admin credentials, catalog, repository. A PostgreSQL catalog URL is taken from $${CATALOG_URL_ENV} (never from argv) and recorded in coordinator.json (0600).`,
  INIT_FLAGS,
);

/** Validity of the CA: ten years; re-keying a CA means re-enrolling every agent. */
const CA_VALID_DAYS = 3650;
/** Server and admin certificates: 825 days, the longest browsers and most tooling accept. */
const LEAF_VALID_DAYS = 825;

export interface InitResult {
  dir: string;
  caFingerprint: string;
  catalog: string;
  repositoryId: string;
}

export async function runInit(argv: readonly string[], env: NodeJS.ProcessEnv, logger: Logger, now: () => Date): Promise<InitResult> {
  const flags = parseFlags('init', INIT_FLAGS, argv);
  const p = dataPaths(flags.data);
  await prepareDir(p.dir);
  await mkdir(p.tlsDir, { mode: 0o700 });
  await mkdir(p.adminDir, { mode: 0o700 });
  await mkdir(p.catalog, { mode: 0o700 });
  await mkdir(p.repository, { mode: 0o700 });

  const hostnames = ['localhost'];
  const ips = ['127.0.0.1', '::1'];
  const own = hostname();
  if (own && own !== 'localhost') hostnames.push(own);
  for (const san of flags.san) {
    if (isIP(san) !== 0) {
      if (!ips.includes(san)) ips.push(san);
    } else if (/^[A-Za-z0-9*](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(san)) {
      if (!hostnames.includes(san)) hostnames.push(san);
    } else {
      throw new CoordinatorError('INVALID_ARGUMENT', `--san ${JSON.stringify(san)} is neither a DNS name nor an IP address`);
    }
  }

  const ca = await createCa({ commonName: `pbk-coordinator CA (${own || 'localhost'})`, validDays: CA_VALID_DAYS });
  await writeCertificateFile(p.caCert, ca.certPem);
  await writePrivateKeyFile(p.caKey, ca.keyPem);
  const server = await issueServerCert(ca, { hostnames, ips, commonName: hostnames.find((h) => h !== 'localhost') ?? 'localhost', validDays: LEAF_VALID_DAYS });
  await writeCertificateFile(p.serverCert, server.certPem);
  await writePrivateKeyFile(p.serverKey, server.keyPem);

  const kek = await createKeyFile(p.kek);
  await createKeyFile(p.tokenKey);

  const admin = await createKeyAndCsr({ commonName: 'pbk-admin' });
  const adminCert = await signCsr(ca, admin.csrPem, { role: 'admin', validDays: LEAF_VALID_DAYS, commonName: 'pbk-admin' });
  await writeCertificateFile(p.adminCa, ca.certPem);
  await writeCertificateFile(p.adminCert, adminCert);
  await writePrivateKeyFile(p.adminKey, admin.keyPem);

  const catalogUrl = env[CATALOG_URL_ENV] || undefined;
  const catalog = await openCatalog({ url: catalogUrl, dir: p.catalog, logger, now });
  const catalogWhere = catalogUrl === undefined ? p.catalog : redactUrl(catalogUrl);
  await catalog.close();

  const repo = await Repository.init(new LocalBackend(p.repository), { kind: 'key', key: kek }, { now, logger });

  const config: FileConfig = { ...DEFAULT_FILE_CONFIG };
  if (flags.region !== undefined) config.region = flags.region;
  if (catalogUrl !== undefined) config.catalogUrl = catalogUrl;
  await writeFile(p.config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(p.config, 0o600);

  return { dir: p.dir, caFingerprint: certificateFingerprint(ca.certPem), catalog: catalogWhere, repositoryId: repo.config.id };
}

async function prepareDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CoordinatorError('FAILED_PRECONDITION', `cannot read ${dir}: ${(err as Error).message}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return;
  }
  if (entries.includes('coordinator.json')) {
    throw new CoordinatorError('ALREADY_EXISTS', `${dir} is already an initialized coordinator data directory: refusing to overwrite its CA, keys and repository`);
  }
  if (entries.length > 0) {
    throw new CoordinatorError(
      'FAILED_PRECONDITION',
      `${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}) but holds no coordinator.json: an interrupted init? Remove it (nothing in it protects a backup yet) or pick another directory`,
    );
  }
  await chmod(dir, 0o700);
}
