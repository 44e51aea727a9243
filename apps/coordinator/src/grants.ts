/**
 * Restore grants: an agent may read only its own host's snapshots, unless an
 * operator asked the coordinator to restore another host's snapshot onto it
 * (Restore with target_host). For the life of that restore command, the
 * target host may read exactly that snapshot; the grant ends with the command.
 */
export class RestoreGrants {
  readonly #grants = new Map<string, number>();

  /** Lets `host` read `snapshotHex` until the returned function is called. */
  grant(host: string, snapshotHex: string): () => void {
    const k = `${host}\n${snapshotHex}`;
    this.#grants.set(k, (this.#grants.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#grants.get(k) ?? 1) - 1;
      if (n <= 0) this.#grants.delete(k);
      else this.#grants.set(k, n);
    };
  }

  allowed(host: string, snapshotHex: string): boolean {
    return this.#grants.has(`${host}\n${snapshotHex}`);
  }
}
