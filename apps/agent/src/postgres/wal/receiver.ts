/**
 * One pg_receivewal child: `pg_receivewal -D SPOOL --slot S --synchronous
 * --no-loop --verbose --no-password`, connection details and the password in
 * its environment only (never argv: `ps` shows argv to every user). The
 * streamer restarts it (with backoff) when it exits; --no-loop makes it exit
 * on a lost connection instead of retrying on its own, so every restart goes
 * through our slot checks and is counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../logger.js';
import { TailBuffer } from '../connection.js';

export interface ReceiverExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of its stderr, for the log and for recognising "slot does not exist". */
  stderr: string;
}

export class ReceiveWalProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: {
      program: string;
      spoolDir: string;
      slot: string;
      env: NodeJS.ProcessEnv;
      log: Logger;
      onExit: (exit: ReceiverExit) => void;
    },
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child) return;
    const { program, spoolDir, slot, env, log } = this.opts;
    const args = ['-D', spoolDir, '--slot', slot, '--synchronous', '--no-loop', '--verbose', '--no-password'];
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const tail = new TailBuffer(4096);
    child.stderr?.on('data', (b: Buffer) => {
      tail.push(b);
      for (const line of b.toString().split('\n')) if (line.trim() !== '') log.debug({ line: line.trim() }, 'pg_receivewal');
    });
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        if (this.child === child) this.child = undefined;
        resolve();
        this.opts.onExit({ code, signal, stderr: tail.toString() });
      };
      child.on('error', (err) => {
        tail.push(`cannot run ${program}: ${err.message}`);
        finish(null, null);
      });
      child.on('close', finish);
    });
    log.info({ pid: child.pid, slot, spool: spoolDir }, 'pg_receivewal started');
  }

  /** SIGTERM (pg_receivewal flushes and exits), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
