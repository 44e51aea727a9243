/**
 * Alerts over the real Mosquitto broker (127.0.0.1:1883, ENVIRONMENT.md): a
 * real coordinator process publishes BACKUP_FAILED for an aborted run and a
 * retained status (plus an alert) for a source its agent reports degraded.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import mqtt, { type MqttClient } from 'mqtt';
import type { v1 } from '@pbk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMqttUrl } from '../src/alerts.js';
import { agentClient, call, enroll, FILES_SOURCE, initData, metric, serve, tempDir, type Serving } from './harness.js';

const BROKER = 'mqtt://127.0.0.1:1883';
const prefix = `pbk-test-${randomBytes(4).toString('hex')}`;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let coordinator: Serving;
let agent: v1.AgentServiceClient;
let sub: MqttClient;
const received: { topic: string; body: Record<string, unknown>; retain: boolean }[] = [];

async function connect(): Promise<MqttClient> {
  const c = mqtt.connect(BROKER, { reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', (err) => reject(new Error(`the Mosquitto broker at ${BROKER} is not reachable (../shared/services.sh starts it): ${err.message}`)));
  });
  return c;
}

async function waitFor(pred: (m: (typeof received)[number]) => boolean, what: string, ms = 15_000): Promise<(typeof received)[number]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = received.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no MQTT message: ${what}; got ${JSON.stringify(received.map((m) => m.topic))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  sub = await connect();
  sub.on('message', (topic, payload, packet) => {
    if (payload.length > 0) received.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain });
  });
  await sub.subscribeAsync(`${prefix}/#`, { qos: 1 });
  tmp = await tempDir();
  const dir = join(tmp.dir, 'data');
  await initData(dir);
  const cfgPath = join(dir, 'coordinator.json');
  const cfg = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
  await writeFile(cfgPath, JSON.stringify({ ...cfg, mqttTopicPrefix: prefix }), { mode: 0o600 });
  coordinator = await serve(dir, { PBK_MQTT_URL: BROKER });
  agent = agentClient(coordinator.ready.grpc, await enroll(coordinator, dir, 'db-1'));
});

afterAll(async () => {
  agent?.close();
  await coordinator?.stop();
  // Clear the retained status so the broker does not keep test state.
  for (const m of received.filter((r) => r.retain || r.topic.includes('/status/'))) await sub.publishAsync(m.topic, '', { retain: true, qos: 1 });
  await sub?.endAsync();
  await tmp?.cleanup();
});

describe('alerts over MQTT', () => {
  it('publishes BACKUP_FAILED (QoS 1) when an agent aborts a run with a failure, and counts it in /metrics', async () => {
    const c = agent as unknown as Client;
    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE('etc') });
    await call(c, 'abortBackup', { runId: begin.runId, failure: { code: 'UNAVAILABLE', message: 'redis went away mid-stream' } });
    const m = await waitFor((r) => r.topic === `${prefix}/alerts/BACKUP_FAILED`, 'BACKUP_FAILED');
    expect(m.body.message).toContain('redis went away mid-stream');
    expect(m.body.source).toMatchObject({ host: 'db-1', kind: 'files', name: 'etc' });
    expect(await metric(coordinator, 'pbk_alerts_total{type="BACKUP_FAILED"}')).toBe(1);
  });

  it('does not page anyone for a cancelled run', async () => {
    const c = agent as unknown as Client;
    const begin = await call<v1.BeginBackupRequest, v1.BeginBackupResponse__Output>(c, 'beginBackup', { source: FILES_SOURCE('cancelled') });
    await call(c, 'abortBackup', { runId: begin.runId, failure: { code: 'CANCELLED', message: 'operator pressed ctrl-c' } });
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((r) => r.topic.endsWith('/BACKUP_FAILED') && String(r.body.message).includes('ctrl-c'))).toEqual([]);
  });

  it('keeps a retained status per source and alerts when a heartbeat reports it degraded', async () => {
    const c = agent as unknown as Client;
    const source = { host: '', kind: 'SOURCE_KIND_POSTGRES' as const, name: 'main' };
    await call(c, 'heartbeat', { agentVersion: 't', agentTimeUnixMs: Date.now(), sources: [{ source, state: 'ok', detail: '', facts: {} }] });
    await waitFor((r) => r.topic === `${prefix}/status/db-1/postgres/main` && r.body.state === 'ok', 'status ok');
    await call(c, 'heartbeat', {
      agentVersion: 't',
      agentTimeUnixMs: Date.now(),
      sources: [{ source, state: 'degraded', detail: 'slot pbk_main retains 2 GiB of WAL', facts: { alert: 'REPLICATION_LAG' } }],
    });
    const alert = await waitFor((r) => r.topic === `${prefix}/alerts/REPLICATION_LAG`, 'REPLICATION_LAG');
    expect(alert.body.message).toContain('retains 2 GiB');
    // A subscriber that comes later still gets the source's state: it is retained.
    const late = await connect();
    try {
      const got = new Promise<Record<string, unknown>>((resolve) => late.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)));
      await late.subscribeAsync(`${prefix}/status/db-1/postgres/main`, { qos: 1 });
      expect(await got).toMatchObject({ state: 'degraded', detail: 'slot pbk_main retains 2 GiB of WAL' });
    } finally {
      await late.endAsync();
    }
    // The same state again is not a new alert.
    const before = received.length;
    await call(c, 'heartbeat', { agentVersion: 't', agentTimeUnixMs: Date.now(), sources: [{ source, state: 'degraded', detail: 'slot pbk_main retains 2 GiB of WAL', facts: { alert: 'REPLICATION_LAG' } }] });
    await new Promise((r) => setTimeout(r, 300));
    expect(received.length).toBe(before);
  });
});

describe('MQTT settings', () => {
  it('accepts TLS anywhere and plain MQTT only on this host; never a password in the URL', () => {
    expect(checkMqttUrl('mqtts://broker.example:8883').hostname).toBe('broker.example');
    expect(checkMqttUrl('mqtt://127.0.0.1:1883').port).toBe('1883');
    expect(() => checkMqttUrl('mqtt://broker.example:1883')).toThrow(/only accepted for a broker on this host/);
    expect(() => checkMqttUrl('mqtts://pbk:secret@broker.example')).toThrow(/PBK_MQTT_PASSWORD/);
    expect(() => checkMqttUrl('http://x')).toThrow(/mqtts:\/\//);
  });
});
