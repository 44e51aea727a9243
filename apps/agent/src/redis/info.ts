/**
 * Pure parsers for what Redis and its tools print: INFO sections, the
 * keyspace line per db, the RDB file header, redis-check-rdb's summary and
 * the "Done loading RDB" log line. No I/O here, so each is unit-tested.
 */

/** INFO text (`# Section` headers, `key:value` lines, CRLF) -> key -> value. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at <= 0) continue;
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

/** What INFO persistence says about background saves. */
export interface PersistenceState {
  bgsaveInProgress: boolean;
  /** Unix seconds of the last successful save (rdb_last_save_time = LASTSAVE). */
  lastSave: number;
  lastBgsaveOk: boolean;
  /** Saves attempted since start (Redis >= 7.0); undefined on older servers. */
  saves: number | undefined;
  aofRewriteInProgress: boolean;
  aofEnabled: boolean;
  /** Seconds the running BGSAVE has taken, -1 when none. */
  currentBgsaveSec: number;
}

export function parsePersistence(info: Map<string, string>): PersistenceState {
  const num = (k: string, def: number): number => {
    const v = info.get(k);
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : def;
  };
  if (!info.has('rdb_bgsave_in_progress') || !info.has('rdb_last_save_time')) {
    throw new Error('INFO persistence lacks rdb_bgsave_in_progress / rdb_last_save_time (is this Redis?)');
  }
  return {
    bgsaveInProgress: num('rdb_bgsave_in_progress', 0) === 1,
    lastSave: num('rdb_last_save_time', 0),
    lastBgsaveOk: info.get('rdb_last_bgsave_status') === 'ok',
    saves: info.has('rdb_saves') ? num('rdb_saves', 0) : undefined,
    aofRewriteInProgress: num('aof_rewrite_in_progress', 0) === 1,
    aofEnabled: num('aof_enabled', 0) === 1,
    currentBgsaveSec: num('rdb_current_bgsave_time_sec', -1),
  };
}

/** Keys and keys-with-TTL of one logical database. */
export interface DbCounts {
  keys: number;
  expires: number;
}

/** INFO keyspace (`db0:keys=2,expires=1,avg_ttl=0`) -> db number -> counts, dbs in ascending order. */
export function parseKeyspace(info: Map<string, string>): Map<number, DbCounts> {
  const out = new Map<number, DbCounts>();
  const dbs = [...info.keys()].filter((k) => /^db\d+$/.test(k)).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  for (const k of dbs) {
    const fields = new Map(
      info
        .get(k)!
        .split(',')
        .map((kv) => kv.split('=') as [string, string]),
    );
    out.set(Number(k.slice(2)), { keys: Number(fields.get('keys') ?? 0), expires: Number(fields.get('expires') ?? 0) });
  }
  return out;
}

/** Counts as a snapshot label: `db0=2,db3=1` (empty when the instance holds no keys). */
export function formatCounts(counts: Map<number, DbCounts>, which: 'keys' | 'expires'): string {
  return [...counts].map(([db, c]) => `db${db}=${c[which]}`).join(',');
}

/** The inverse of formatCounts; throws on text it did not write. */
export function parseCounts(text: string): Map<number, number> {
  const out = new Map<number, number>();
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const m = /^db(\d+)=(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`not a key count label: ${JSON.stringify(text)}`);
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

export function totalKeys(counts: Map<number, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}

/**
 * An RDB file starts with the magic `REDIS` and the format version as four
 * ASCII digits (`REDIS0010` for Redis 7.0); returns the version, or undefined
 * when the bytes are not an RDB header.
 */
export function rdbVersion(head: Buffer): number | undefined {
  if (head.length < 9 || head.subarray(0, 5).toString('latin1') !== 'REDIS') return undefined;
  const digits = head.subarray(5, 9).toString('latin1');
  return /^\d{4}$/.test(digits) ? Number(digits) : undefined;
}

/**
 * The last 9 bytes of an RDB (version >= 5) are the EOF opcode 0xFF and an
 * 8-byte CRC64 (zero when rdbchecksum is off). A file that does not end so
 * was cut short.
 */
export function rdbTrailerOk(tail: Buffer, version: number): boolean {
  if (version < 5) return tail.length > 0 && tail[tail.length - 1] === 0xff;
  return tail.length >= 9 && tail[tail.length - 9] === 0xff;
}

/** redis-check-rdb's summary lines (`[info] 3 keys read`, `[info] 1 expires`, `[info] 1 already expired`). */
export interface CheckRdbSummary {
  ok: boolean;
  keysRead: number | undefined;
  expires: number | undefined;
  alreadyExpired: number | undefined;
}

export function parseCheckRdb(output: string): CheckRdbSummary {
  const grab = (re: RegExp): number | undefined => {
    const m = re.exec(output);
    return m ? Number(m[1]) : undefined;
  };
  return {
    ok: /RDB looks OK/.test(output),
    keysRead: grab(/\[info\] (\d+) keys read/),
    expires: grab(/\[info\] (\d+) expires/),
    alreadyExpired: grab(/\[info\] (\d+) already expired/),
  };
}

/** `Done loading RDB, keys loaded: 2, keys expired: 1.` (Redis >= 7.0 logs it at start). */
export function parseLoadedLine(log: string): { loaded: number; expired: number } | undefined {
  const m = /Done loading RDB, keys loaded: (\d+), keys expired: (\d+)/.exec(log);
  return m ? { loaded: Number(m[1]), expired: Number(m[2]) } : undefined;
}

/**
 * The reason a background save failed, from what the Redis log gained since
 * the BGSAVE was asked for: the child's last warning (`1234:C ... # Failed
 * opening the temp RDB file ...: Read-only file system`), else the parent's
 * (`# Background saving error`).
 */
export function bgsaveFailureFromLog(appended: string): string | undefined {
  let child: string | undefined;
  let parent: string | undefined;
  for (const line of appended.split('\n')) {
    const m = /^\d+:([CMSX]) .*? # (.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'C') child = m[2];
    else if (/sav/i.test(m[2]!)) parent = m[2];
  }
  return child ?? parent;
}

export interface KeyCountInput {
  /** Per db, from INFO keyspace right before BGSAVE (label keys). */
  recorded: Map<number, number>;
  /** Per db, right after it (label keys_after, only when it differed). */
  recordedAfter: Map<number, number> | undefined;
  /** Per db, INFO keyspace of the scratch server. */
  loaded: Map<number, number>;
  /** Keys the scratch server dropped at load because their TTL had passed. */
  expiredAtLoad: number;
  /** Keys redis-check-rdb read from the file, when known. */
  fileKeys: number | undefined;
}

/**
 * Whether the loaded key counts match the recorded ones. Per db the count
 * must lie between the counts before and after the dump (writes during the
 * BGSAVE move them), less keys that expired before the load; and keys loaded
 * plus expired at load must equal what redis-check-rdb read.
 */
export function compareKeyCounts(i: KeyCountInput): { ok: boolean; detail: string } {
  const dbs = new Set([...i.recorded.keys(), ...(i.recordedAfter?.keys() ?? []), ...i.loaded.keys()]);
  const problems: string[] = [];
  const parts: string[] = [];
  for (const db of [...dbs].sort((a, b) => a - b)) {
    const before = i.recorded.get(db) ?? 0;
    const after = i.recordedAfter?.get(db) ?? before;
    const got = i.loaded.get(db) ?? 0;
    const lo = Math.max(0, Math.min(before, after) - i.expiredAtLoad);
    const hi = Math.max(before, after);
    const expected = lo === hi ? String(hi) : `${lo}-${hi}`;
    parts.push(`db${db}: ${got} (expected ${expected})`);
    if (got < lo || got > hi) problems.push(`db${db} has ${got} keys, expected ${expected}`);
  }
  const loadedTotal = [...i.loaded.values()].reduce((a, b) => a + b, 0);
  if (i.fileKeys !== undefined && loadedTotal + i.expiredAtLoad !== i.fileKeys) {
    problems.push(`${loadedTotal} keys loaded + ${i.expiredAtLoad} expired at load != ${i.fileKeys} keys in the file`);
  }
  const summary = `${parts.join(', ') || 'no keys'}${i.expiredAtLoad > 0 ? `; ${i.expiredAtLoad} expired before the load` : ''}`;
  return problems.length === 0 ? { ok: true, detail: summary } : { ok: false, detail: `${problems.join('; ')} (${summary})` };
}
