/**
 * The physical replication slot behind WAL streaming, over SQL: create it if
 * missing (reserving WAL at once, so nothing between creation and the first
 * connection of pg_receivewal is recycled), and read its state.
 *
 * Why the slot's restart_lsn is the streamer's "flushed" position: with
 * --synchronous, pg_receivewal fsyncs what it received and reports that
 * flush position at once; the server moves a physical slot's restart_lsn to
 * exactly that position. The spool's `.partial` file cannot tell us (PG 15
 * preallocates it to the full segment size with zeros), and scanning for the
 * last non-zero byte would cut a record that legitimately ends in zeros.
 */
import type pg from 'pg';
import type { PostgresSourceConfig } from '../../config/postgres.js';
import { connect } from '../connection.js';
import { parseLsn, type Lsn } from './names.js';

export interface SlotState {
  exists: boolean;
  /** Where the slot holds WAL from = what pg_receivewal has flushed (undefined before its first report). */
  restartLsn: Lsn | undefined;
  /** The server's current WAL write position (primary) or last replayed (standby). */
  currentLsn: Lsn;
  active: boolean;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved, lost. */
  walStatus: string | undefined;
}

/** One connection kept for the streamer's frequent, tiny queries; reopened after an error. */
export class SlotClient {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;

  constructor(private readonly config: PostgresSourceConfig) {}

  get slot(): string {
    return this.config.wal.slot;
  }

  private async conn(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= connect(this.config)
      .then((c) => {
        c.on('error', () => {
          if (this.client === c) this.client = undefined;
        });
        this.client = c;
        return c;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = await this.conn();
    try {
      return (await c.query<T>(sql, params)).rows;
    } catch (err) {
      // A broken session is dropped; the next query reconnects.
      if (this.client === c) {
        this.client = undefined;
        await c.end().catch(() => undefined);
      }
      throw err;
    }
  }

  async state(): Promise<SlotState> {
    // Only what a non-superuser REPLICATION role may read (pg_control_* functions are superuser-only by default).
    const [row] = await this.query<{ restart_lsn: string | null; current: string; active: boolean | null; wal_status: string | null; found: boolean }>(
      `SELECT s.restart_lsn::text AS restart_lsn, s.active, s.wal_status, s.slot_name IS NOT NULL AS found,
              (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS current
       FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1 AND s.slot_type = 'physical'`,
      [this.slot],
    );
    return {
      exists: row?.found === true,
      restartLsn: row?.restart_lsn ? parseLsn(row.restart_lsn) : undefined,
      currentLsn: row?.current ? parseLsn(row.current) : 0n,
      active: row?.active === true,
      walStatus: row?.wal_status ?? undefined,
    };
  }

  /** Creates the slot (reserving WAL now); false when it already existed. */
  async create(): Promise<boolean> {
    try {
      await this.query('SELECT pg_create_physical_replication_slot($1, true)', [this.slot]);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === '42710') return false; // duplicate_object: someone made it meanwhile
      throw err;
    }
  }

  /**
   * Ends a walsender holding the slot for a pg_receivewal of ours that outlived
   * its agent (the agent was SIGKILLed; its child kept streaming). Only a
   * session with our application_name is touched, never another consumer.
   * True when one was ended.
   */
  async endOrphan(applicationName: string): Promise<boolean> {
    const rows = await this.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(s.active_pid) AS ended FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid
       WHERE s.slot_name = $1 AND r.application_name = $2`,
      [this.slot, applicationName],
    );
    return rows.some((r) => r.ended);
  }

  async segmentSize(): Promise<number> {
    const [row] = await this.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'`);
    const n = Number(row?.setting);
    // pg_settings reports it in bytes since PG 11.
    return Number.isSafeInteger(n) && n > 0 ? n : 16 * 1024 * 1024;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

}
