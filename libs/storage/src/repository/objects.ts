import { createHash } from 'node:crypto';
import { IntegrityError, open, seal } from '@pbk/crypto';
import { decodePayload, encodePayload, PayloadEncodingError } from '../compress/zstd.js';
import { ObjectCorruptError } from '../errors.js';

/**
 * Encrypted metadata objects (index, snapshots, WAL manifests): the kind is bound into the
 * AAD so an index cannot be passed off as a snapshot. Stored as
 *   0x01 || seal(metaKey, encodingByte || payload, "pbk-object-v1" 0x00 kind)
 * and named `<folder>/<SHA-256 of the stored bytes, hex>`.
 */
export type ObjectKind = 'index' | 'snapshot' | 'wal';

export const OBJECT_FOLDERS: Record<ObjectKind, string> = { index: 'index/', snapshot: 'snapshots/', wal: 'wal/' };
const OBJECT_FORMAT = 0x01;

function aad(kind: ObjectKind): Buffer {
  return Buffer.concat([Buffer.from('pbk-object-v1\0', 'ascii'), Buffer.from(kind, 'ascii')]);
}

export function sealObject(metaKey: Buffer, kind: ObjectKind, payload: Buffer): { id: string; bytes: Buffer } {
  const bytes = Buffer.concat([Buffer.of(OBJECT_FORMAT), seal(metaKey, encodePayload(payload, 3), aad(kind))]);
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

export function openObject(metaKey: Buffer, kind: ObjectKind, id: string, bytes: Buffer): Buffer {
  const name = OBJECT_FOLDERS[kind] + id;
  if (createHash('sha256').update(bytes).digest('hex') !== id) throw new ObjectCorruptError(name, 'content does not hash to its name');
  if (bytes[0] !== OBJECT_FORMAT) throw new ObjectCorruptError(name, `unknown object format byte ${bytes[0]}`);
  try {
    return decodePayload(open(metaKey, bytes.subarray(1), aad(kind), name));
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof PayloadEncodingError) throw new ObjectCorruptError(name, err.message, { cause: err });
    throw err;
  }
}
