import type { ScryptParams } from '@pbk/crypto';

/**
 * `keys/kek-<version>`: plaintext JSON describing one KEK version. It holds no
 * secret: the scrypt salt/parameters (for passphrase KEKs) and a verifier that
 * tells a wrong key from a damaged repository (docs/repository-format.md, "Keys").
 */
export interface KekRecord {
  version: number;
  created: string;
  kdf: ({ name: 'scrypt' } & ScryptParams) | null;
  /** base64 of HMAC-SHA-256(KEK, "pbk kek verifier v1"). */
  verifier: string;
}

export function kekRecordName(version: number): string {
  return `keys/kek-${version}`;
}

export const KEK_RECORD_NAME = /^keys\/kek-(\d+)$/;
export const MASTER_KEY_NAME = 'keys/master';
export const DEK_PREFIX = 'keys/dek/';

export function dekName(dekId: Buffer | string): string {
  return DEK_PREFIX + (typeof dekId === 'string' ? dekId : dekId.toString('hex'));
}
