/**
 * One HTTP request over the agent daemon's unix socket, with node:http only:
 * the wal-fetch entry (src/wal-fetch.ts) runs once per WAL file during
 * recovery and must not load the rest of the agent. client.ts turns the
 * failures into AgentErrors for the other commands.
 */
import { request } from 'node:http';

/** Default socket path (docs/agent-config.md, `localSocket`). */
export const DEFAULT_LOCAL_SOCKET = '/run/pbk-agent/agent.sock';

export interface LocalResponse {
  status: number;
  body: Buffer;
}

/** The daemon could not be reached or did not answer: `code` is the pbk code (UNAVAILABLE, DEADLINE_EXCEEDED). */
export class LocalSocketError extends Error {
  constructor(
    readonly code: 'UNAVAILABLE' | 'DEADLINE_EXCEEDED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LocalSocketError';
  }
}

export function rawLocalRequest(socketPath: string, method: 'GET' | 'PUT', path: string, body?: Buffer, timeoutMs = 300_000): Promise<LocalResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body ? { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } : {}, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new LocalSocketError('DEADLINE_EXCEEDED', `the agent daemon did not answer on ${socketPath} within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof LocalSocketError) return reject(err);
      const hint =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'is pbk-agent running (pbk-agent run) with a PostgreSQL source, and is this its localSocket?'
          : err.code === 'EACCES'
            ? 'this OS user may not use the socket: it must be in the group of the source\'s osUser'
            : '';
      reject(new LocalSocketError('UNAVAILABLE', `cannot reach the agent daemon at ${socketPath}: ${err.message}${hint ? `; ${hint}` : ''}`, { cause: err }));
    });
    req.end(body);
  });
}

/** The daemon's error answer: its pbk code and message (INTERNAL when the body is not the daemon's JSON). */
export function errorAnswer(res: LocalResponse): { code: string; message: string } {
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { code?: unknown; message?: unknown };
    return { code: typeof j.code === 'string' ? j.code : 'INTERNAL', message: String(j.message ?? 'no message') };
  } catch {
    return { code: 'INTERNAL', message: `the agent daemon answered HTTP ${res.status}` };
  }
}
