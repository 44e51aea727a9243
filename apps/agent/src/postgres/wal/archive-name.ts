/**
 * What the local API and the coordinator accept as a WAL file name (archive_command
 * also passes .backup and promotion .partial files). No imports: the wal-fetch
 * entry (src/wal-fetch.ts) loads it once per WAL file recovery asks for.
 */
const ARCHIVE_NAME_RE = /^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/;

export function isArchiveName(name: string): boolean {
  return ARCHIVE_NAME_RE.test(name);
}
