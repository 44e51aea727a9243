/**
 * Alerts (DESIGN decision 13): published over MQTT with QoS 1 to
 * `<prefix>/alerts/<TYPE>`, and each source's state as a RETAINED message on
 * `<prefix>/status/<host>/<kind>/<source>`, so a dashboard or PgBouncer hook
 * that subscribes late still sees where every source stands. Every alert is
 * also a pino line (component "alerts") and a Prometheus counter, so nothing
 * depends on the broker being up: mqtt.js queues QoS 1 messages while it
 * reconnects.
 *
 * Alert conditions raised here: a backup run that failed (BACKUP_FAILED), and
 * a source whose agent reports it degraded or down in its heartbeat
 * (BACKUP_INCOMPLETE unless the agent names a more precise type in
 * facts.alert, e.g. the WAL streamer's REPLICATION_LAG when the slot retains
 * too much). A source's status goes back to "ok" (retained) when it recovers.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger, SourceRef } from '@pbk/storage';
import { CoordinatorError } from './errors.js';

export const ALERT_TYPES = [
  'BACKUP_FAILED',
  'BACKUP_CORRUPTION',
  'BACKUP_UNUSABLE',
  'BACKUP_INCOMPLETE',
  'BACKUP_RELIABILITY',
  'RPO_EXCEEDED',
  'RTO_EXCEEDED',
  'RECOVERY_INCOMPLETE',
  'REPLICATION_LAG',
  'FAILOVER',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export interface Alert {
  type: AlertType;
  source?: SourceRef;
  /** What happened and what to do, for the person paged. */
  message: string;
  details?: Record<string, unknown>;
}

export interface MqttSettings {
  /** mqtt:// (loopback only) or mqtts:// URL; a username may be in it, never a password. */
  url: string;
  topicPrefix: string;
  /** CA bundle for mqtts:// brokers with a private CA. */
  caFile: string | undefined;
  /** From PBK_MQTT_PASSWORD, never from a file or a flag. */
  password: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** Checks an MQTT URL: TLS unless the broker is on this host. */
export function checkMqttUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CoordinatorError('INVALID_ARGUMENT', `MQTT URL ${JSON.stringify(raw)} is not a URL (mqtts://broker:8883)`);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') throw new CoordinatorError('INVALID_ARGUMENT', `MQTT URL must start with mqtts:// (or mqtt:// for a broker on this host), not ${url.protocol}//`);
  if (url.password !== '') throw new CoordinatorError('INVALID_ARGUMENT', 'the MQTT URL must not carry a password: set PBK_MQTT_PASSWORD in the environment');
  if (url.protocol === 'mqtt:' && !LOOPBACK.has(url.hostname)) {
    throw new CoordinatorError('INVALID_ARGUMENT', `plain mqtt:// is only accepted for a broker on this host; use mqtts://${url.hostname}:8883 for ${url.hostname}`);
  }
  return url;
}

type SourceState = { state: string; detail: string };

export class Alerter {
  private client: MqttClient | undefined;
  private readonly states = new Map<string, SourceState>();
  /** Alerts raised since start, by type (the /metrics counter). */
  readonly counts = new Map<AlertType, number>();

  constructor(
    private readonly settings: MqttSettings | undefined,
    private readonly log: Logger,
    private readonly now: () => Date,
  ) {}

  /** Connects to the broker in the background; alerts raised before it answers are queued. */
  start(): void {
    const s = this.settings;
    if (s === undefined) return;
    const url = checkMqttUrl(s.url);
    this.client = mqtt.connect(url.toString(), {
      clientId: `pbk-coordinator-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.caFile !== undefined ? { ca: readFileSync(s.caFile) } : {}),
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      // The broker's certificate is checked against the system roots or caFile.
      rejectUnauthorized: true,
    });
    this.client.on('connect', () => this.log.info({ broker: url.host }, 'connected to the MQTT broker'));
    this.client.on('error', (err) => this.log.warn({ broker: url.host, err: err.message }, 'MQTT broker problem; alerts are queued and logged meanwhile'));
  }

  raise(alert: Alert): void {
    this.counts.set(alert.type, (this.counts.get(alert.type) ?? 0) + 1);
    const payload = {
      type: alert.type,
      time: this.now().toISOString(),
      ...(alert.source ? { source: alert.source } : {}),
      message: alert.message,
      ...(alert.details ? { details: alert.details } : {}),
    };
    this.log.warn({ alert: payload }, `alert ${alert.type}`);
    this.publish(`alerts/${alert.type}`, payload, false);
  }

  /**
   * A source's current state. Publishes (retained) only on a change, and
   * raises an alert when it turns bad.
   */
  sourceState(source: SourceRef, state: string, detail: string, alertType?: string): void {
    const key = `${source.host}/${source.kind}/${source.name}`;
    const prev = this.states.get(key);
    if (prev !== undefined && prev.state === state && prev.detail === detail) return;
    this.states.set(key, { state, detail });
    this.publish(`status/${key}`, { source, state, detail, time: this.now().toISOString() }, true);
    const bad = state === 'degraded' || state === 'down' || state === 'failing';
    const wasBad = prev !== undefined && (prev.state === 'degraded' || prev.state === 'down' || prev.state === 'failing');
    if (bad && (!wasBad || prev?.detail !== detail)) {
      const type = (ALERT_TYPES as readonly string[]).includes(alertType ?? '') ? (alertType as AlertType) : 'BACKUP_INCOMPLETE';
      this.raise({ type, source, message: `${key} is ${state}: ${detail || 'no detail from the agent'}` });
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c === undefined) return;
    // Give queued QoS 1 messages a moment to leave, then close regardless.
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => c.end(true, {}, () => resolve()), 2000);
      c.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private publish(topic: string, payload: unknown, retain: boolean): void {
    const c = this.client;
    if (c === undefined || this.settings === undefined) return;
    c.publish(`${this.settings.topicPrefix}/${topic}`, JSON.stringify(payload), { qos: 1, retain }, (err) => {
      if (err) this.log.warn({ topic, err: err.message }, 'MQTT publish failed');
    });
  }
}
