/**
 * PostgreSQL WAL on the coordinator: PutWal, ListWal, GetWal (agent.proto).
 * Not built yet: every call answers FAILED_PRECONDITION so an agent that
 * streams WAL hears it plainly instead of losing data silently.
 */
import type { v1 } from '@pbk/protocol';
import type { ServiceContext } from '../context.js';
import { CoordinatorError } from '../errors.js';
import { serverStream, unary } from '../handlers.js';

type WalHandlers = Pick<v1.AgentServiceHandlers, 'PutWal' | 'ListWal' | 'GetWal'>;

export function walHandlers(ctx: ServiceContext): WalHandlers {
  const log = ctx.logger;
  const notYet = (): never => {
    throw new CoordinatorError('FAILED_PRECONDITION', 'this coordinator does not store PostgreSQL WAL yet; upgrade it');
  };
  return {
    PutWal: unary(log, 'PutWal', async () => notYet()),
    ListWal: unary(log, 'ListWal', async () => notYet()),
    GetWal: serverStream(log, 'GetWal', async () => notYet()),
  };
}
