/**
 * Prometheus metrics, written by hand in the text exposition format (0.0.4):
 * a handful of counters the services bump, and gauges computed at scrape time.
 */
import type { CompactReport, SnapshotWithId } from '@pbk/storage';

export interface ScrapeFacts {
  now: Date;
  connectedAgents: number;
  openRuns: number;
  latestSnapshots: readonly SnapshotWithId[];
  repository: { blobs: number; packs: number; storedBytes: number };
  /** Alerts raised since start, by type. */
  alerts?: ReadonlyMap<string, number>;
  /** Each host's last heartbeat: when it came and what it said of every source. */
  heartbeats?: readonly HeartbeatFacts[];
}

export interface HeartbeatFacts {
  host: string;
  at: Date;
  sources: readonly { source: { kind: string; name: string } | null; state: string; facts: Readonly<Record<string, string>> }[];
}

export const SOURCE_STATES = ['ok', 'degraded', 'down'] as const;

/**
 * Heartbeat facts exported as gauges (DESIGN decision 13: Prometheus carries
 * the figures alerts are made of). PostgreSQL's slot retention and streaming
 * lag are what an SRE graphs to see a slot filling the primary's disk.
 */
const FACT_GAUGES: readonly { fact: string; name: string; help: string; scale?: number }[] = [
  { fact: 'wal_retained_bytes', name: 'pbk_wal_slot_retained_bytes', help: 'WAL the replication slot holds on the PostgreSQL server (server LSN - slot restart_lsn), from the last heartbeat.' },
  { fact: 'wal_lag_bytes', name: 'pbk_wal_lag_bytes', help: 'WAL flushed by pg_receivewal but not yet durable on the coordinator, from the last heartbeat.' },
  { fact: 'wal_spool_bytes', name: 'pbk_wal_spool_bytes', help: "WAL waiting in the agent's local spool, from the last heartbeat." },
  { fact: 'wal_last_durable_unix_ms', name: 'pbk_wal_last_durable_timestamp_seconds', help: 'When WAL of the source last became durable on the coordinator.', scale: 1 / 1000 },
];

export class Metrics {
  backupsCommitted = 0;
  backupsFailed = 0;
  bytesReceived = 0;
  blobsStored = 0;
  blobsDuplicate = 0;
  blobsRejected = 0;
  deltaBlobs = 0;
  deltaSavedBytes = 0;
  enrollments = 0;
  walManifestsWritten = 0;
  compactionFailures = 0;
  readonly compaction = {
    runs: 0,
    packsCompacted: 0,
    packsWritten: 0,
    packsDeleted: 0,
    blobsCopied: 0,
    bytesCopied: 0,
    lastTimestamp: 0,
    lastDurationMs: 0,
    lastPacksAfter: 0,
    pendingDeletes: 0,
  };

  recordCompaction(r: CompactReport, now: Date): void {
    const c = this.compaction;
    c.runs++;
    c.packsCompacted += r.packs.compacted;
    c.packsWritten += r.packs.written;
    c.packsDeleted += r.packs.deleted + r.packs.orphansDeleted;
    c.blobsCopied += r.blobsCopied;
    c.bytesCopied += r.bytesCopied;
    c.lastTimestamp = now.getTime() / 1000;
    c.lastDurationMs = r.durationMs;
    c.lastPacksAfter = r.packs.after;
    c.pendingDeletes = r.pendingDeletes;
  }

  render(facts: ScrapeFacts): string {
    const out: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    };
    metric('pbk_backups_committed_total', 'counter', 'Backup runs committed as snapshots since the coordinator started.', [[{}, this.backupsCommitted]]);
    metric('pbk_backups_failed_total', 'counter', 'Backup runs aborted, failed or abandoned since the coordinator started.', [[{}, this.backupsFailed]]);
    metric('pbk_upload_bytes_received_total', 'counter', 'Sealed blob bytes received on upload streams.', [[{}, this.bytesReceived]]);
    metric('pbk_blobs_stored_total', 'counter', 'Uploaded blobs checked and stored.', [[{}, this.blobsStored]]);
    metric('pbk_blobs_duplicate_total', 'counter', 'Uploaded blobs the repository already had (not stored twice).', [[{}, this.blobsDuplicate]]);
    metric('pbk_delta_blobs_total', 'counter', 'Uploaded blobs stored as a delta against an older blob (the agent hinted at it).', [[{}, this.deltaBlobs]]);
    metric('pbk_delta_saved_bytes_total', 'counter', 'Sealed bytes delta encoding saved: full sealed size minus delta sealed size, summed over delta blobs stored.', [[{}, this.deltaSavedBytes]]);
    metric('pbk_blobs_rejected_total', 'counter', 'Uploaded blobs refused because they did not decrypt or hash to their id.', [[{}, this.blobsRejected]]);
    metric('pbk_enrollments_total', 'counter', 'Agents enrolled since the coordinator started.', [[{}, this.enrollments]]);
    metric('pbk_alerts_total', 'counter', 'Alerts raised since the coordinator started, by type (published over MQTT when a broker is configured).', [...(facts.alerts ?? new Map())].map(([type, n]) => [{ type }, n]));
    const c = this.compaction;
    metric('pbk_wal_manifests_written_total', 'counter', 'WAL manifests written to the repository (one per complete WAL file, and backfills).', [[{}, this.walManifestsWritten]]);
    metric('pbk_compaction_runs_total', 'counter', 'Repository compaction runs, by result (interval and on demand).', [
      [{ result: 'ok' }, c.runs],
      [{ result: 'failed' }, this.compactionFailures],
    ]);
    metric('pbk_compaction_packs_compacted_total', 'counter', 'Small packs whose blobs compaction copied into full-size packs.', [[{}, c.packsCompacted]]);
    metric('pbk_compaction_packs_written_total', 'counter', 'Full-size packs compaction wrote.', [[{}, c.packsWritten]]);
    metric('pbk_compaction_packs_deleted_total', 'counter', 'Packs compaction deleted (replaced ones after their delay, and leftovers of interrupted runs).', [[{}, c.packsDeleted]]);
    metric('pbk_compaction_blobs_copied_total', 'counter', 'Blobs compaction copied (sealed bytes, unchanged).', [[{}, c.blobsCopied]]);
    metric('pbk_compaction_bytes_copied_total', 'counter', 'Sealed blob bytes compaction copied.', [[{}, c.bytesCopied]]);
    metric('pbk_compaction_last_run_timestamp_seconds', 'gauge', 'End of the last successful compaction, unix seconds (0: none yet).', [[{}, c.lastTimestamp]]);
    metric('pbk_compaction_last_duration_seconds', 'gauge', 'Duration of the last successful compaction.', [[{}, c.lastDurationMs / 1000]]);
    metric('pbk_compaction_pending_deletes', 'gauge', 'Replaced packs waiting for the delete delay.', [[{}, c.pendingDeletes]]);
    metric('pbk_agents_connected', 'gauge', 'Agents with an open Control stream.', [[{}, facts.connectedAgents]]);
    metric('pbk_backup_runs_open', 'gauge', 'Backup runs begun and not yet committed or aborted.', [[{}, facts.openRuns]]);
    metric('pbk_repository_blobs', 'gauge', 'Blobs in the repository index.', [[{}, facts.repository.blobs]]);
    metric('pbk_repository_packs', 'gauge', 'Pack files in the repository index.', [[{}, facts.repository.packs]]);
    metric('pbk_repository_stored_bytes', 'gauge', 'Sealed bytes of indexed blobs.', [[{}, facts.repository.storedBytes]]);
    metric(
      'pbk_last_snapshot_age_seconds',
      'gauge',
      'Age of the newest snapshot of each source (the recovery point objective as it stands).',
      facts.latestSnapshots.map((s) => [
        { host: s.source.host, kind: s.source.kind, source: s.source.name },
        Math.max(0, (facts.now.getTime() - Date.parse(s.time)) / 1000),
      ]),
    );
    metric(
      'pbk_last_snapshot_timestamp_seconds',
      'gauge',
      'Time of the newest snapshot of each source, unix seconds.',
      facts.latestSnapshots.map((s) => [{ host: s.source.host, kind: s.source.kind, source: s.source.name }, Date.parse(s.time) / 1000]),
    );
    const beats = facts.heartbeats ?? [];
    metric('pbk_agent_heartbeat_age_seconds', 'gauge', "Seconds since the host's last heartbeat.", beats.map((b) => [{ host: b.host }, Math.max(0, (facts.now.getTime() - b.at.getTime()) / 1000)]));
    // kind as in the snapshot gauges above ("postgres", not the wire's SOURCE_KIND_POSTGRES).
    const kindLabel = (k: string): string => k.replace(/^SOURCE_KIND_/, '').toLowerCase();
    const sources = beats.flatMap((b) => b.sources.filter((s) => s.source !== null).map((s) => ({ labels: { host: b.host, kind: kindLabel(s.source!.kind), source: s.source!.name }, s })));
    metric(
      'pbk_source_state',
      'gauge',
      'State a source reported in its last heartbeat: 1 for the current one of ok, degraded, down.',
      sources.flatMap(({ labels, s }) => SOURCE_STATES.map((state): [Record<string, string>, number] => [{ ...labels, state }, s.state === state ? 1 : 0])),
    );
    for (const g of FACT_GAUGES) {
      const samples = sources.flatMap(({ labels, s }): [Record<string, string>, number][] => {
        const raw = s.facts[g.fact];
        const v = raw === undefined ? NaN : Number(raw);
        return Number.isFinite(v) ? [[labels, v * (g.scale ?? 1)]] : [];
      });
      if (samples.length > 0) metric(g.name, 'gauge', g.help, samples);
    }
    return out.join('\n') + '\n';
  }
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : 'NaN';
}
