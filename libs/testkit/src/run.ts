import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; rejects with its stderr when it exits non-zero (unless allowFailure). */
export function run(cmd: string, args: readonly string[], options: SpawnOptions & { allowFailure?: boolean; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a program that exits without reading its input
      child.stdin!.end(options.input);
    }
    child.once('close', (code, signal) => {
      const r = { code, signal, stdout, stderr };
      if (code !== 0 && !options.allowFailure) reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim() || stdout.trim()}`));
      else resolve(r);
    });
  });
}

/** Whether this process runs as root (then servers are started as their own users). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
