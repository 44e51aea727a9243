// The chat-like PostgreSQL dataset of the issue-4 benchmarks: `pgbench -i -s
// SCALE` plus a `messages` table (10,000 rows per scale unit, ~100 bytes of
// text each) with a secondary index, and the traffic between two base backups.
import { runAsPg, type PgCluster } from '@pbk/testkit';

export type ChatEdits = 'random' | 'recent';

export function parseEdits(value: unknown): ChatEdits | undefined {
  return value === 'random' || value === 'recent' ? value : undefined;
}

/** pgbench tables at SCALE, the messages table and its index, VACUUM ANALYZE: returns the row count of messages. */
export async function createChatDataset(pg: PgCluster, scale: number): Promise<number> {
  await runAsPg('pgbench', ['-i', '-s', String(scale), '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'postgres']);
  await pg.query(`CREATE TABLE messages (id bigserial PRIMARY KEY, room int NOT NULL, author int NOT NULL, sent_at timestamptz NOT NULL, body text NOT NULL)`);
  await pg.query(
    `INSERT INTO messages (room, author, sent_at, body)
     SELECT (random() * 500)::int, (random() * 5000)::int, now() - (g || ' seconds')::interval, md5(g::text) || ' ' || md5((g * 3)::text) || ' ' || md5((g * 7)::text)
     FROM generate_series(1, ${scale * 10_000}) g`,
  );
  await pg.query('CREATE INDEX messages_room_sent ON messages (room, sent_at)');
  await pg.query('VACUUM ANALYZE');
  return scale * 10_000;
}

/**
 * Chat-like traffic: 5 % more messages appended (indexed), 1 % of all
 * messages edited: `random` picks the edited ones anywhere in the table (the
 * hard case: about a third of all heap pages change), `recent` among the
 * newest 10 % (people edit what they just sent).
 */
export async function chatTraffic(pg: PgCluster, edits: ChatEdits = 'random'): Promise<{ appended: number; updated: number; edits: string }> {
  const n = Number((await pg.query<{ n: string }>('SELECT count(*)::text AS n FROM messages'))[0]!.n);
  const add = Math.round(n * 0.05);
  const upd = Math.round(n * 0.01);
  await pg.query(
    `INSERT INTO messages (room, author, sent_at, body)
     SELECT (random() * 500)::int, (random() * 5000)::int, now(), md5(random()::text) || ' ' || md5(random()::text) || ' ' || md5(random()::text)
     FROM generate_series(1, ${add})`,
  );
  const pool = edits === 'recent' ? `(SELECT id FROM messages ORDER BY id DESC LIMIT ${Math.round((n + add) * 0.1)}) AS recent` : 'messages';
  await pg.query(`UPDATE messages SET body = body || ' (edited)' WHERE id IN (SELECT id FROM ${pool} ORDER BY random() LIMIT ${upd})`);
  return { appended: add, updated: upd, edits };
}
