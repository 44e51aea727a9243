/**
 * Sends stored blobs to an agent as they are in the packs (sealed: the
 * coordinator decrypts nothing), in ~1 MiB messages, each DEK once per stream
 * just before its first blob (every hand-out audited as a key unwrap), the
 * repository id-key on the first message so the agent checks every blob
 * against its id. DownloadBlobs (restores) and GetWal (wal-fetch) both send
 * blobs this way.
 */
import { BlobMessageBatcher, type v1 } from '@pbk/protocol';
import { packName, StorageError, type Repository } from '@pbk/storage';
import type { Auditor } from './audit.js';

export interface BlobSendOptions {
  repo: Repository;
  auditor: Auditor;
  /** Who receives the keys (audit actor). */
  actor: string;
  /** What the blobs are for, in errors ("snapshot X", "WAL file Y of Z"). */
  where: string;
  /** Added to every key.unwrap audit record (snapshot or WAL file, purpose). */
  auditDetails: Record<string, unknown>;
  /** Writes one message; `first` is true once. Even an empty stream gets one message (id-key, and the caller's header). */
  write(msg: v1.DownloadBlobsResponse, first: boolean): Promise<void>;
}

export async function sendBlobs(ids: Iterable<Buffer>, o: BlobSendOptions): Promise<void> {
  const sentKeys = new Set<string>();
  const batcher = new BlobMessageBatcher();
  let first = true;
  const send = async (parts: v1.BlobPart[]): Promise<void> => {
    const keys: v1.DataKey[] = [];
    for (const p of parts) {
      const dekId = p.dekId as Buffer;
      const hex = dekId.toString('hex');
      if (sentKeys.has(hex)) continue;
      sentKeys.add(hex);
      const dek = await o.repo.keys.dek(dekId);
      await o.auditor.record({ actor: o.actor, action: 'key.unwrap', target: hex, details: o.auditDetails });
      keys.push({ id: dek.id, key: dek.key });
    }
    const wasFirst = first;
    first = false;
    await o.write({ parts, keys, ...(wasFirst ? { idKey: o.repo.keys.master.idKey } : {}) }, wasFirst);
  };
  for (const id of ids) {
    const entry = o.repo.locate(id, o.where);
    const sealed = await o.repo.backend.get(packName(entry.packId), { offset: entry.offset, length: entry.length });
    if (sealed.length !== entry.length) {
      throw new StorageError('CORRUPT', `pack ${entry.packId} is truncated: blob ${id.toString('hex')} (${o.where}) needs bytes ${entry.offset}..${entry.offset + entry.length}; run pbk verify`);
    }
    for (const parts of batcher.push({ id, type: entry.type === 'tree' ? 'BLOB_TYPE_TREE' : 'BLOB_TYPE_DATA', dekId: entry.dekId, rawLength: entry.rawLength, sealed })) await send(parts);
  }
  const last = batcher.flush();
  if (last !== undefined || first) await send(last ?? []);
}
