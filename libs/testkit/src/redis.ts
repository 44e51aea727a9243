/**
 * Scratch redis-server instances: a free port, a temp --dir, no persistence
 * unless asked. `stopAllRedis()` in an afterAll hook kills what a test left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export const REDIS_SERVER = process.env.PBK_REDIS_SERVER ?? 'redis-server';

export class RedisInstance {
  constructor(
    readonly dir: string,
    readonly port: number,
    private child: ChildProcess | undefined,
    private readonly args: string[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
    this.child = undefined;
    live.delete(this);
  }

  /** Starts it again with the same options (and whatever RDB is in its dir). */
  async restart(): Promise<void> {
    await this.stop();
    this.child = await launch(this.args, this.port);
    live.add(this);
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}

const live = new Set<RedisInstance>();

export async function stopAllRedis(): Promise<void> {
  await Promise.all([...live].map((r) => r.stop('SIGKILL').catch(() => undefined)));
}

export interface RedisOptions {
  /** Extra `--name value` arguments, e.g. { requirepass: 'x', appendonly: 'yes' }. */
  config?: Record<string, string>;
  /** Use this dir instead of a new temp one. */
  dir?: string;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisInstance> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'pbk-redis-')));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
  for (const [k, v] of Object.entries(options.config ?? {})) args.push(`--${k}`, v);
  const child = await launch(args, port);
  const r = new RedisInstance(dir, port, child, args);
  live.add(r);
  return r;
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (args ${args.join(' ')})`);
    if (await canConnect(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
