/**
 * The agent's state dir (docs/agent-coordinator.md, "Agent state directory"):
 *
 *   DIR/ca.pem      the coordinator's CA: the only root the agent trusts
 *   DIR/agent.pem   the agent's client certificate (role agent, its host)
 *   DIR/agent.key   its private key, PKCS#8 PEM, mode 0600; never leaves the host
 *   DIR/agent.json  { "host", "coordinator": "HOST:PORT" }
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCertificateFile, writePrivateKeyFile } from '@pbk/protocol';
import { parseAddress } from './address.js';
import { StateError } from './errors.js';

export const STATE_FILES = { ca: 'ca.pem', cert: 'agent.pem', key: 'agent.key', info: 'agent.json' } as const;

export interface AgentState {
  dir: string;
  host: string;
  /** The main (mutual TLS) listener, HOST:PORT. */
  coordinator: string;
  caPem: string;
  certPem: string;
  /** Private key PEM: keep it out of logs and messages. */
  keyPem: string;
}

/** Reads and checks the state dir; refuses a private key other users can read. */
export async function readState(dir: string): Promise<AgentState> {
  const path = (f: string): string => join(dir, f);
  const infoPath = path(STATE_FILES.info);
  let infoText: string;
  try {
    infoText = await readFile(infoPath, 'utf8');
  } catch (err) {
    throw new StateError(dir, `${infoPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): enroll first with 'pbk-agent enroll --coordinator HOST:PORT --token - --state ${dir}'`, { cause: err });
  }
  let info: { host?: unknown; coordinator?: unknown };
  try {
    info = JSON.parse(infoText) as typeof info;
  } catch (err) {
    throw new StateError(infoPath, `${infoPath} is not JSON; enroll again`, { cause: err });
  }
  if (typeof info.host !== 'string' || info.host === '') throw new StateError(infoPath, `${infoPath} has no "host"; enroll again`);
  if (typeof info.coordinator !== 'string' || parseAddress(info.coordinator) === undefined) {
    throw new StateError(infoPath, `${infoPath} has no valid "coordinator" (HOST:PORT); enroll again`);
  }
  const keyPath = path(STATE_FILES.key);
  const keyStat = await stat(keyPath).catch((err: NodeJS.ErrnoException) => {
    throw new StateError(keyPath, `${keyPath} cannot be read (${err.code ?? err.message}); enroll again`, { cause: err });
  });
  if ((keyStat.mode & 0o077) !== 0) {
    throw new StateError(keyPath, `${keyPath} is readable by other users (mode ${(keyStat.mode & 0o777).toString(8)}): run 'chmod 600 ${keyPath}'`, { code: 'PERMISSION_DENIED' });
  }
  const read = async (f: string): Promise<string> => {
    try {
      return await readFile(path(f), 'utf8');
    } catch (err) {
      throw new StateError(path(f), `${path(f)} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); enroll again`, { cause: err });
    }
  };
  const [caPem, certPem, keyPem] = await Promise.all([read(STATE_FILES.ca), read(STATE_FILES.cert), read(STATE_FILES.key)]);
  return { dir, host: info.host, coordinator: info.coordinator, caPem, certPem, keyPem };
}

/** Whether a state dir already holds an enrollment. */
export async function hasState(dir: string): Promise<boolean> {
  return (await stat(join(dir, STATE_FILES.info)).catch(() => undefined)) !== undefined;
}

/**
 * Writes a new enrollment: the dir 0700, the key 0600, each file atomically;
 * agent.json last, so a crash half-way leaves a dir that is not taken for enrolled.
 */
export async function writeState(state: AgentState): Promise<void> {
  await mkdir(state.dir, { recursive: true, mode: 0o700 });
  await chmod(state.dir, 0o700);
  await writePrivateKeyFile(join(state.dir, STATE_FILES.key), state.keyPem);
  await writeCertificateFile(join(state.dir, STATE_FILES.cert), state.certPem);
  await writeCertificateFile(join(state.dir, STATE_FILES.ca), state.caPem);
  await writeFileAtomic(join(state.dir, STATE_FILES.info), `${JSON.stringify({ host: state.host, coordinator: state.coordinator }, null, 2)}\n`, 0o644);
}

async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}
