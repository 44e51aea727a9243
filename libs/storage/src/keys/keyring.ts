import { randomBytes } from 'node:crypto';
import { checkKek, generateDek, rewrapKey, unwrapKey, wrapKey, wrappedKekVersion, type Dek, type Kek } from '@pbk/crypto';
import type { Backend } from '../backend/backend.js';
import { NotFoundError, ObjectCorruptError, StorageError } from '../errors.js';
import { kekBytesFor, newKekRecord, type KekInput } from './kek-input.js';
import { DEK_PREFIX, dekName, KEK_RECORD_NAME, kekRecordName, MASTER_KEY_NAME, type KekRecord } from './kek-record.js';

/** Repository-wide secrets, wrapped together under the KEK as `keys/master`. */
export interface MasterKeys {
  /** HMAC key of chunk ids: HMAC-SHA-256(idKey, plaintext). */
  idKey: Buffer;
  /** Seals metadata: pack trailers, index objects, snapshots. */
  metaKey: Buffer;
  /** Seeds the chunker's gear table so chunk boundaries do not fingerprint content. */
  gearSeed: Buffer;
}

export interface KeyAccessEvent {
  action: 'unlock' | 'create-dek' | 'unwrap-dek' | 'destroy-dek' | 'rotate';
  keyId: string;
  kekVersion: number;
}

export type KeyAccessHook = (event: KeyAccessEvent) => void;

const MASTER_LABEL = 'repo-master';
const DEK_LABEL = 'dek';

/**
 * The key hierarchy of one repository: KEK (versioned, never stored) wraps the
 * master keys and every per-backup DEK. Every unwrap is reported to `onAccess`
 * so the coordinator can audit it.
 */
export class KeyRing {
  private readonly deks = new Map<string, Dek>();

  private constructor(
    private readonly backend: Backend,
    private readonly repoId: Buffer,
    private kek: Kek,
    readonly master: MasterKeys,
    private readonly onAccess: KeyAccessHook,
  ) {}

  get kekVersion(): number {
    return this.kek.version;
  }

  static async create(backend: Backend, repoId: Buffer, input: KekInput, now: Date, onAccess: KeyAccessHook = () => {}): Promise<KeyRing> {
    const { record, key } = await newKekRecord(input, 1, now);
    const kek: Kek = { version: 1, key };
    const master: MasterKeys = { idKey: randomBytes(32), metaKey: randomBytes(32), gearSeed: randomBytes(32) };
    await backend.put(kekRecordName(1), Buffer.from(JSON.stringify(record, null, 2) + '\n'));
    await backend.put(MASTER_KEY_NAME, wrapKey(kek, repoId, Buffer.concat([master.idKey, master.metaKey, master.gearSeed]), MASTER_LABEL));
    return new KeyRing(backend, repoId, kek, master, onAccess);
  }

  static async unlock(backend: Backend, repoId: Buffer, input: KekInput, onAccess: KeyAccessHook = () => {}): Promise<KeyRing> {
    const record = await latestKekRecord(backend);
    const kek: Kek = { version: record.version, key: await kekBytesFor(input, record) };
    checkKek(kek, Buffer.from(record.verifier, 'base64'));
    const wrapped = await backend.get(MASTER_KEY_NAME);
    const wrappedVersion = wrappedKekVersion(wrapped);
    if (wrappedVersion !== kek.version) {
      throw new StorageError(
        'FAILED_PRECONDITION',
        `the master key is wrapped under KEK version ${wrappedVersion} but the newest KEK is version ${kek.version}: a key rotation was interrupted; run the rotation again with the old key available`,
      );
    }
    const secret = unwrapKey(kek, repoId, wrapped, MASTER_LABEL);
    if (secret.length !== 96) throw new ObjectCorruptError(MASTER_KEY_NAME, `master secret is ${secret.length} bytes, expected 96`);
    onAccess({ action: 'unlock', keyId: MASTER_KEY_NAME, kekVersion: kek.version });
    return new KeyRing(backend, repoId, kek, { idKey: secret.subarray(0, 32), metaKey: secret.subarray(32, 64), gearSeed: secret.subarray(64, 96) }, onAccess);
  }

  /** A fresh data key for one backup run, durable (wrapped) before any blob uses it. */
  async newDek(): Promise<Dek> {
    const dek = generateDek();
    await this.backend.put(dekName(dek.id), wrapKey(this.kek, dek.id, dek.key, DEK_LABEL));
    this.deks.set(dek.id.toString('hex'), dek);
    this.onAccess({ action: 'create-dek', keyId: dek.id.toString('hex'), kekVersion: this.kek.version });
    return dek;
  }

  async dek(id: Buffer): Promise<Dek> {
    const hex = id.toString('hex');
    const cached = this.deks.get(hex);
    if (cached) return cached;
    let wrapped: Buffer;
    try {
      wrapped = await this.backend.get(dekName(hex));
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new StorageError('NOT_FOUND', `data key ${hex} does not exist: it was destroyed (crypto-erased) or never written; blobs sealed with it cannot be read`, { cause: err });
      }
      throw err;
    }
    const dek: Dek = { id: Buffer.from(id), key: unwrapKey(this.kek, id, wrapped, DEK_LABEL) };
    this.deks.set(hex, dek);
    this.onAccess({ action: 'unwrap-dek', keyId: hex, kekVersion: this.kek.version });
    return dek;
  }

  async listDekIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.backend.list(DEK_PREFIX)) ids.push(o.name.slice(DEK_PREFIX.length));
    return ids.sort();
  }

  /** Crypto-erasure: once the wrapped DEK is gone, nothing sealed with it can be opened again. */
  async destroyDek(id: Buffer | string): Promise<void> {
    const hex = typeof id === 'string' ? id : id.toString('hex');
    await this.backend.delete(dekName(hex));
    this.deks.delete(hex);
    this.onAccess({ action: 'destroy-dek', keyId: hex, kekVersion: this.kek.version });
  }

  /**
   * Re-wraps every DEK and the master keys under a new KEK version; no data is
   * rewritten. Order: new KEK record, DEKs, master, then the old record goes, so
   * an interrupted rotation is detected at unlock and can be run again.
   */
  async rotate(input: KekInput, now: Date): Promise<{ version: number; rewrapped: number }> {
    const version = this.kek.version + 1;
    const { record, key } = await newKekRecord(input, version, now);
    const next: Kek = { version, key };
    await this.backend.put(kekRecordName(version), Buffer.from(JSON.stringify(record, null, 2) + '\n'));
    let rewrapped = 0;
    for (const hex of await this.listDekIds()) {
      const name = dekName(hex);
      const wrapped = await this.backend.get(name);
      if (wrappedKekVersion(wrapped) === version) continue;
      await this.backend.put(name, rewrapKey(this.kek, next, Buffer.from(hex, 'hex'), wrapped, DEK_LABEL));
      rewrapped++;
    }
    const master = await this.backend.get(MASTER_KEY_NAME);
    await this.backend.put(MASTER_KEY_NAME, rewrapKey(this.kek, next, this.repoId, master, MASTER_LABEL));
    const old = this.kek.version;
    this.kek = next;
    await this.backend.delete(kekRecordName(old));
    this.onAccess({ action: 'rotate', keyId: MASTER_KEY_NAME, kekVersion: version });
    return { version, rewrapped };
  }
}

async function latestKekRecord(backend: Backend): Promise<KekRecord> {
  let newest: string | undefined;
  let newestVersion = 0;
  for await (const o of backend.list('keys/')) {
    const m = KEK_RECORD_NAME.exec(o.name);
    if (m && Number(m[1]) > newestVersion) {
      newestVersion = Number(m[1]);
      newest = o.name;
    }
  }
  if (!newest) throw new StorageError('NOT_FOUND', `no KEK record under keys/ in ${backend.location}: this is not a pbk repository, or its keys/ folder is lost`);
  try {
    const record = JSON.parse((await backend.get(newest)).toString('utf8')) as KekRecord;
    if (record.version !== newestVersion || typeof record.verifier !== 'string') throw new Error('fields do not match its name');
    return record;
  } catch (err) {
    throw new ObjectCorruptError(newest, (err as Error).message, { cause: err });
  }
}
