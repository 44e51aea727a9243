/**
 * The side of the local API that wal-push and wal-fetch use: one HTTP request
 * over the daemon's unix socket (raw.ts), errors turned back into AgentErrors
 * with the pbk code the daemon sent.
 */
import { isErrorCode } from '@pbk/protocol';
import { AgentError } from '../errors.js';
import { errorAnswer, LocalSocketError, rawLocalRequest, type LocalResponse } from './raw.js';

export { DEFAULT_LOCAL_SOCKET, type LocalResponse } from './raw.js';

export async function localRequest(socketPath: string, method: 'GET' | 'PUT', path: string, body?: Buffer, timeoutMs = 300_000): Promise<LocalResponse> {
  try {
    return await rawLocalRequest(socketPath, method, path, body, timeoutMs);
  } catch (err) {
    if (err instanceof LocalSocketError) throw new AgentError(err.code, err.message, { cause: err.cause });
    throw err;
  }
}

/** The daemon's error answer as an AgentError. */
export function errorOf(res: LocalResponse, what: string): AgentError {
  const { code, message } = errorAnswer(res);
  return new AgentError(isErrorCode(code) ? code : 'INTERNAL', `${what}: ${message}`);
}
