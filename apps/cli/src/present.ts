/**
 * The JSON documents `--json` prints, built from wire messages: ids as hex,
 * times as UTC ISO strings (null when unset), int64 figures as numbers
 * (exact up to 2^53: 8 PiB), enums by their short lower-case names. Shapes are
 * documented in README.md; keep them stable, scripts parse them.
 */
import type { v1 } from '@pbk/protocol';
import { hex } from './format.js';

export const KINDS = ['files', 'postgres', 'redis'] as const;
export type KindName = (typeof KINDS)[number];

const KIND_ENUM = {
  files: 'SOURCE_KIND_FILES',
  postgres: 'SOURCE_KIND_POSTGRES',
  redis: 'SOURCE_KIND_REDIS',
} as const satisfies Record<KindName, v1.SourceKind__Output>;

export function kindEnum(kind: KindName): v1.SourceKind__Output {
  return KIND_ENUM[kind];
}

/** SOURCE_KIND_FILES -> files, BACKUP_MODE_FULL -> full, *_UNSPECIFIED -> unspecified. */
export function enumName(value: string | undefined): string {
  if (value === undefined || value === '') return 'unspecified';
  return value.replace(/^(SOURCE_KIND|BACKUP_MODE)_/, '').toLowerCase();
}

/** An int64 (decimal string on the wire) as a JSON number. */
export function num(value: string | number | undefined): number {
  return Number(value ?? 0);
}

/** A *_unix_ms field as an ISO string; null for 0 (unset). */
export function isoOrNull(ms: string | number | undefined): string | null {
  const n = Number(ms ?? 0);
  return n > 0 ? new Date(n).toISOString() : null;
}

export function sourceLabel(ref: v1.SourceRef__Output | null | undefined): string {
  return ref ? `${ref.host}/${ref.name}` : '-';
}

export function snapshotDoc(s: v1.SnapshotInfo__Output) {
  return {
    id: hex(s.id),
    host: s.source?.host ?? '',
    kind: enumName(s.source?.kind),
    source: s.source?.name ?? '',
    mode: enumName(s.mode),
    time: isoOrNull(s.timeUnixMs),
    committed: isoOrNull(s.committedUnixMs),
    runId: hex(s.runId),
    parentId: hex(s.parentId) || null,
    treeRoot: hex(s.treeRoot),
    paths: s.paths,
    labels: s.labels,
    stats: {
      files: num(s.stats?.files),
      dirs: num(s.stats?.dirs),
      totalBytes: num(s.stats?.totalBytes),
      newBytes: num(s.stats?.newBytes),
      uploadedBytes: num(s.stats?.uploadedBytes),
      // What the repository kept of the upload (delta blobs at their delta size).
      storedBytes: num(s.stats?.storedBytes),
      newBlobs: num(s.stats?.newBlobs),
      skipped: num(s.stats?.skipped),
    },
  };
}

export function jobDoc(jobId: Buffer, accepted: v1.JobAccepted__Output | null | undefined) {
  return { id: hex(jobId), host: accepted?.host ?? '', accepted: isoOrNull(accepted?.acceptedUnixMs) };
}

export function statusDoc(s: v1.StatusResponse__Output) {
  return {
    coordinator: { version: s.coordinatorVersion, region: s.region, primary: s.primary, serverTime: isoOrNull(s.serverTimeUnixMs) },
    repository: {
      snapshots: num(s.repository?.snapshots),
      packs: num(s.repository?.packs),
      blobs: num(s.repository?.blobs),
      storedBytes: num(s.repository?.storedBytes),
    },
    agents: s.agents.map((a) => ({
      host: a.host,
      version: a.agentVersion,
      connected: a.connected,
      lastHeartbeat: isoOrNull(a.lastHeartbeatUnixMs),
      certNotAfter: isoOrNull(a.certNotAfterUnixMs),
    })),
    sources: s.sources.map((src) => ({
      host: src.source?.host ?? '',
      kind: enumName(src.source?.kind),
      source: src.source?.name ?? '',
      state: src.state,
      lastSnapshot: src.lastSnapshot ? snapshotDoc(src.lastSnapshot) : null,
      lastSuccess: isoOrNull(src.lastSuccessUnixMs),
      lastFailure: isoOrNull(src.lastFailureUnixMs),
      failure: src.lastFailure ? { code: src.lastFailure.code, message: src.lastFailure.message } : null,
      rpoAgeMs: num(src.rpoAgeMs),
      rpoTargetMs: num(src.rpoTargetMs),
    })),
  };
}

export function restoreDoc(d: v1.RestoreDone__Output) {
  return {
    snapshot: d.snapshot ? snapshotDoc(d.snapshot) : null,
    targetHost: d.targetHost,
    targetDir: d.targetDir,
    files: num(d.files),
    dirs: num(d.dirs),
    bytes: num(d.bytes),
    durationMs: num(d.durationMs),
  };
}

export function verifyDoc(r: v1.VerifyReport__Output) {
  return {
    ok: r.ok,
    snapshotsChecked: num(r.snapshotsChecked),
    packsChecked: num(r.packsChecked),
    blobsChecked: num(r.blobsChecked),
    bytesRead: num(r.bytesRead),
    durationMs: num(r.durationMs),
    problems: r.problems.map((p) => ({ code: p.code, object: p.object, message: p.message })),
  };
}
