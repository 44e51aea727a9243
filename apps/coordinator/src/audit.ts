/**
 * Audit entries from the services (DESIGN decision 16): key accesses,
 * restores, enrollments. Entries about a key are written BEFORE the key leaves
 * the coordinator; if the audit log cannot be written, the key is not handed
 * out. Key accesses the repository reports on its own (a DEK unwrapped to
 * check an upload or read a tree) are appended in the background and awaited
 * at shutdown.
 */
import type { KeyAccessEvent, Logger } from '@pbk/storage';
import type { AuditEntry, Catalog } from './catalog/index.js';
import { CoordinatorError } from './errors.js';

export class Auditor {
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly catalog: Pick<Catalog, 'audit'>,
    private readonly logger: Logger,
  ) {}

  /** Appends an entry; fails UNAVAILABLE (and the caller refuses the action) when the log cannot be written. */
  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.catalog.audit.append(entry);
    } catch (err) {
      this.logger.error({ action: entry.action, target: entry.target, err: (err as Error).message }, 'audit log append failed');
      throw new CoordinatorError('UNAVAILABLE', `cannot write the audit log (${(err as Error).message}); the ${entry.action} was refused: check the catalog database`, { cause: err });
    }
  }

  /** The repository's key-access hook. DEK creation is audited by BeginBackup itself, with the run. */
  keyAccess(event: KeyAccessEvent): void {
    const action = event.action === 'unwrap-dek' || event.action === 'unlock' ? 'key.unwrap' : event.action === 'destroy-dek' ? 'key.destroy' : event.action === 'rotate' ? 'key.rotate' : undefined;
    if (action === undefined) return;
    const p = this.record({ actor: 'coordinator', action, target: event.keyId, details: { kekVersion: event.kekVersion, purpose: 'repository' } })
      .catch(() => undefined)
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}
