/**
 * Restore grants: an agent may read only its own host's snapshots, unless an
 * operator asked the coordinator to restore another host's snapshot onto it
 * (Restore with target_host). For the life of that restore command, the
 * target host may read exactly that snapshot; the grant ends with the command.
 * A grant given with the snapshot's source also lets the target host read
 * that source's WAL (GetWal/ListWal), which a point-in-time restore replays.
 */
export class RestoreGrants {
  readonly #grants = new Map<string, number>();

  /** Lets `host` read `snapshotHex` until the returned function is called. */
  grant(host: string, snapshotHex: string, sourceLabel?: string): () => void {
    const keys = [`${host}\n${snapshotHex}`, ...(sourceLabel === undefined ? [] : [`${host}\nsource:${sourceLabel}`])];
    for (const k of keys) this.#grants.set(k, (this.#grants.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.#grants.get(k) ?? 1) - 1;
        if (n <= 0) this.#grants.delete(k);
        else this.#grants.set(k, n);
      }
    };
  }

  /** `host` may read the WAL of `sourceLabel` (host/kind/name): a restore of one of its snapshots is running there. */
  allowedSource(host: string, sourceLabel: string): boolean {
    return this.#grants.has(`${host}\nsource:${sourceLabel}`);
  }

  allowed(host: string, snapshotHex: string): boolean {
    return this.#grants.has(`${host}\n${snapshotHex}`);
  }
}
