/**
 * The side of the local API that wal-push and wal-fetch use: one HTTP request
 * over the daemon's unix socket, errors turned back into AgentErrors with the
 * pbk code the daemon sent.
 */
import { request } from 'node:http';
import { isErrorCode } from '@pbk/protocol';
import { AgentError } from '../errors.js';

/** Default socket path (docs/agent-config.md, `localSocket`). */
export const DEFAULT_LOCAL_SOCKET = '/run/pbk-agent/agent.sock';

export interface LocalResponse {
  status: number;
  body: Buffer;
}

export function localRequest(socketPath: string, method: 'GET' | 'PUT', path: string, body?: Buffer, timeoutMs = 300_000): Promise<LocalResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body ? { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } : {}, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new AgentError('DEADLINE_EXCEEDED', `the agent daemon did not answer on ${socketPath} within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AgentError) return reject(err);
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'is pbk-agent running (pbk-agent run) with a PostgreSQL source, and is this its localSocket?'
          : err.code === 'EACCES'
            ? 'this OS user may not use the socket: it must be in the group of the source\'s osUser'
            : '';
      reject(new AgentError('UNAVAILABLE', `cannot reach the agent daemon at ${socketPath}: ${err.message}${hint ? `; ${hint}` : ''}`, { cause: err }));
    });
    req.end(body);
  });
}

/** The daemon's error answer as an AgentError. */
export function errorOf(res: LocalResponse, what: string): AgentError {
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { code?: unknown; message?: unknown };
    const code = isErrorCode(j.code) ? j.code : 'INTERNAL';
    return new AgentError(code, `${what}: ${String(j.message ?? 'no message')}`);
  } catch {
    return new AgentError('INTERNAL', `${what}: the agent daemon answered HTTP ${res.status}`);
  }
}
