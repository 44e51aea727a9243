/**
 * One OpenPool job, the same on a worker thread and inline: open a sealed
 * blob and check it against its id; a delta blob opens its base first (the
 * delta's id check covering both); with `makeDelta`, also seal the blob as a
 * delta against a candidate base.
 */
import type { Dek } from '@pbk/crypto';
import { openChunk, openDeltaBase, sealDeltaChunk } from '../blob/codec.js';
import { BlobCorruptError } from '../errors.js';

export interface DeltaBase {
  id: Buffer;
  dek: Dek;
  sealed: Buffer;
  rawLength: number;
  packId?: string;
}

export interface OpenJobInput {
  dek: Dek;
  idKey: Buffer;
  id: Buffer;
  sealed: Buffer;
  rawLength: number | undefined;
  packId: string | undefined;
  /** The base of a delta blob, or with makeDelta the candidate base. */
  base?: DeltaBase;
  makeDelta?: boolean;
  /**
   * The caller only checks the blob (and, with makeDelta, seals the delta)
   * and drops the plaintext: it is decoded into a buffer this thread reuses
   * from job to job, and `plaintext` is only valid until the next job.
   */
  transient?: boolean;
}

export interface OpenJobResult {
  plaintext: Buffer;
  /** With makeDelta: the blob sealed as a delta against the base, when that pays (sealDeltaChunk). */
  delta?: Buffer;
  /** With makeDelta: why the candidate base could not serve (it does not open). */
  baseProblem?: string;
}

/** The reused plaintext buffer of transient jobs (per thread: each worker has its own module). */
let scratch = Buffer.allocUnsafeSlow(0);
/** Larger plaintexts (beyond the chunker's usual 8 MiB maximum) get a buffer of their own rather than a scratch kept forever. */
const SCRATCH_MAX_BYTES = 16 * 1024 * 1024;

function scratchFor(rawLength: number | undefined): Buffer | undefined {
  // Without a length from the index the decoder sizes its own buffer.
  if (rawLength === undefined || rawLength > SCRATCH_MAX_BYTES) return undefined;
  if (scratch.length < rawLength) scratch = Buffer.allocUnsafeSlow(Math.max(rawLength, 1024 * 1024));
  return scratch;
}

export function runOpenJob(job: OpenJobInput): OpenJobResult {
  const into = job.transient ? scratchFor(job.rawLength) : undefined;
  const openBase = (b: DeltaBase) => openChunk(b.dek, job.idKey, b.id, b.sealed, b.rawLength, b.packId);
  if (!job.makeDelta) {
    let base: Buffer | undefined;
    if (job.base) {
      try {
        // Not hashed against its own id: the delta's id check below covers it (openDeltaBase).
        const b = job.base;
        base = openDeltaBase(b.dek, b.id, b.sealed, b.rawLength, b.packId);
      } catch (err) {
        if (!(err instanceof BlobCorruptError)) throw err;
        throw new BlobCorruptError(job.id.toString('hex'), job.packId, `its delta base ${err.message}`, { cause: err });
      }
    }
    try {
      return { plaintext: openChunk(job.dek, job.idKey, job.id, job.sealed, job.rawLength, job.packId, base, into) };
    } catch (err) {
      if (!(err instanceof BlobCorruptError) || !job.base) throw err;
      // The base's own id was not checked: the fault may be either blob's.
      throw new BlobCorruptError(err.blobId, err.packId, `${err.detail} (decoded against its delta base ${job.base.id.toString('hex')}; either may be damaged: run pbk verify)`, { cause: err });
    }
  }
  // The upload is checked whatever the base: a candidate base that does not open costs the delta, never the blob.
  const plaintext = openChunk(job.dek, job.idKey, job.id, job.sealed, job.rawLength, job.packId, undefined, into);
  if (!job.base) return { plaintext };
  let base: Buffer;
  try {
    base = openBase(job.base);
  } catch (err) {
    if (!(err instanceof BlobCorruptError)) throw err;
    return { plaintext, baseProblem: err.message };
  }
  return { plaintext, delta: sealDeltaChunk(job.dek, job.id, plaintext, job.base.id, base, job.sealed.length)?.sealed };
}
