/**
 * Enrolled agents (table `agents`) and the certificate serials no longer
 * accepted (table `revoked_certs`). One row per host: enrolling again replaces
 * the certificate and retires the old serial, so a stolen old certificate stops
 * working the moment the host re-enrolls.
 */
import type { SqlDb } from './db.js';
import { CatalogError, CatalogNotFoundError, CatalogQueryError } from './errors.js';
import { assertHost, assertText, iso, toDate, toOptionalDate } from './values.js';

export interface Agent {
  host: string;
  certSerial: string;
  /** SHA-256 of the certificate's DER, hex. */
  certFingerprint: string;
  certNotAfter: Date;
  agentVersion: string;
  enrolledAt: Date;
  lastHeartbeatAt: Date | undefined;
  revokedAt: Date | undefined;
}

export interface EnrollAgent {
  host: string;
  certSerial: string;
  certFingerprint: string;
  certNotAfter: Date;
  agentVersion: string;
}

interface AgentRow {
  host: string;
  cert_serial: string;
  cert_fingerprint: string;
  cert_not_after: unknown;
  agent_version: string;
  enrolled_at: unknown;
  last_heartbeat_at: unknown;
  revoked_at: unknown;
}

function toAgent(r: AgentRow): Agent {
  return {
    host: r.host,
    certSerial: r.cert_serial,
    certFingerprint: r.cert_fingerprint,
    certNotAfter: toDate(r.cert_not_after),
    agentVersion: r.agent_version,
    enrolledAt: toDate(r.enrolled_at),
    lastHeartbeatAt: toOptionalDate(r.last_heartbeat_at),
    revokedAt: toOptionalDate(r.revoked_at),
  };
}

export class AgentRegistry {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => Date,
  ) {}

  /**
   * Records a newly issued certificate for `host`, first enrollment or again
   * (which also lifts a revocation: a fresh token was the operator's consent).
   * The previous serial, if any, is retired. Callers consume the token in the
   * same transaction (Catalog.transaction).
   */
  async enroll(input: EnrollAgent): Promise<Agent> {
    assertHost(input.host);
    assertText('certificate serial', input.certSerial, 128);
    assertText('certificate fingerprint', input.certFingerprint, 128);
    assertText('agent version', input.agentVersion, 128);
    const at = iso(this.now());
    return this.db.transaction(async (tx) => {
      // Serializes enrollments of one host, also when the row does not exist yet.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('pbk.agent:' || $1::text, 0))`, [input.host]);
      const [retired] = await tx.query<{ n: unknown }>('SELECT count(*) AS n FROM revoked_certs WHERE cert_serial = $1', [input.certSerial]);
      if (Number(retired?.n ?? 0) > 0) {
        throw new CatalogError('FAILED_PRECONDITION', `certificate serial ${input.certSerial} was revoked or superseded and cannot be enrolled again: issue a new certificate`);
      }
      const [previous] = await tx.query<{ cert_serial: string }>('SELECT cert_serial FROM agents WHERE host = $1', [input.host]);
      if (previous !== undefined && previous.cert_serial !== input.certSerial) {
        await tx.query(
          `INSERT INTO revoked_certs (cert_serial, host, revoked_at, reason) VALUES ($1, $2, $3::timestamptz, 'superseded')
           ON CONFLICT (cert_serial) DO NOTHING`,
          [previous.cert_serial, input.host, at],
        );
      }
      try {
        const [row] = await tx.query<AgentRow>(
          `INSERT INTO agents (host, cert_serial, cert_fingerprint, cert_not_after, agent_version, enrolled_at)
           VALUES ($1, $2, $3, $4::timestamptz, $5, $6::timestamptz)
           ON CONFLICT (host) DO UPDATE SET
             cert_serial = EXCLUDED.cert_serial, cert_fingerprint = EXCLUDED.cert_fingerprint,
             cert_not_after = EXCLUDED.cert_not_after, agent_version = EXCLUDED.agent_version,
             enrolled_at = EXCLUDED.enrolled_at, last_heartbeat_at = NULL, revoked_at = NULL
           RETURNING *`,
          [input.host, input.certSerial, input.certFingerprint, iso(input.certNotAfter), input.agentVersion, at],
        );
        return toAgent(row!);
      } catch (err) {
        if (err instanceof CatalogQueryError && err.sqlState === '23505') {
          throw new CatalogError('ALREADY_EXISTS', `certificate serial ${input.certSerial} already belongs to another agent: the CA issued a duplicate serial; issue a new certificate`);
        }
        throw err;
      }
    });
  }

  /** Records a heartbeat; PERMISSION_DENIED for a revoked agent, NOT_FOUND for an unknown one. */
  async heartbeat(host: string, agentVersion?: string): Promise<Agent> {
    assertHost(host);
    if (agentVersion !== undefined) assertText('agent version', agentVersion, 128);
    const [row] = await this.db.query<AgentRow>(
      `UPDATE agents SET last_heartbeat_at = $2::timestamptz, agent_version = COALESCE($3::text, agent_version)
       WHERE host = $1 AND revoked_at IS NULL RETURNING *`,
      [host, iso(this.now()), agentVersion ?? null],
    );
    if (row !== undefined) return toAgent(row);
    const agent = await this.get(host);
    if (agent === undefined) throw new CatalogNotFoundError('agent', host);
    throw new CatalogError('PERMISSION_DENIED', `agent ${host} was revoked at ${agent.revokedAt?.toISOString()}: enroll it again with a new token`);
  }

  async get(host: string): Promise<Agent | undefined> {
    const [row] = await this.db.query<AgentRow>('SELECT * FROM agents WHERE host = $1', [host]);
    return row === undefined ? undefined : toAgent(row);
  }

  /** All agents by host name; revoked ones too unless `includeRevoked` is false. */
  async list(options: { includeRevoked?: boolean } = {}): Promise<Agent[]> {
    const rows = await this.db.query<AgentRow>(
      `SELECT * FROM agents ${options.includeRevoked === false ? 'WHERE revoked_at IS NULL' : ''} ORDER BY host`,
    );
    return rows.map(toAgent);
  }

  /** Revokes the agent and its certificate. Idempotent: revoking again keeps the first time. */
  async revoke(host: string): Promise<Agent> {
    assertHost(host);
    const at = iso(this.now());
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<AgentRow>(
        'UPDATE agents SET revoked_at = COALESCE(revoked_at, $2::timestamptz) WHERE host = $1 RETURNING *',
        [host, at],
      );
      if (row === undefined) throw new CatalogNotFoundError('agent', host);
      await tx.query(
        `INSERT INTO revoked_certs (cert_serial, host, revoked_at, reason) VALUES ($1, $2, $3::timestamptz, 'revoked')
         ON CONFLICT (cert_serial) DO NOTHING`,
        [row.cert_serial, host, at],
      );
      return toAgent(row);
    });
  }

  /** Every serial that must be refused (revoked or superseded), for an in-memory check on each call. */
  async revokedSerials(): Promise<string[]> {
    const rows = await this.db.query<{ cert_serial: string }>('SELECT cert_serial FROM revoked_certs');
    return rows.map((r) => r.cert_serial);
  }

  /** True when a certificate with this serial must be refused (revoked, or replaced by a newer enrollment). */
  async isRevoked(certSerial: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM revoked_certs WHERE cert_serial = $1', [certSerial]);
    return rows.length > 0;
  }
}
