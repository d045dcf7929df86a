import { createHash } from 'node:crypto';
import type pg from 'pg';

const CHUNK = 256 * 1024;
const BATCH = 64;

/**
 * Count and digest of every large object the client's transaction sees: SHA-256 over
 * "oid:size:sha256(content)\n" in oid order (pg_restore keeps large objects' oids). Content is
 * read in 256 KiB pieces with lo_get, never a whole object at once, so memory stays bounded
 * (at most one batch of first pieces) whatever the objects' sizes.
 */
export async function digestLargeObjects(client: pg.Client): Promise<{ count: number; sha256: string }> {
  const total = createHash('sha256');
  let count = 0;
  let after = '0';
  for (;;) {
    const { rows } = await client.query<{ oid: string; head: Buffer }>(
      `SELECT oid::text AS oid, lo_get(oid, 0, ${CHUNK}) AS head FROM pg_largeobject_metadata WHERE oid > $1::oid ORDER BY oid LIMIT ${BATCH}`,
      [after],
    );
    for (const row of rows) {
      const content = createHash('sha256').update(row.head);
      let size = row.head.length;
      for (let piece = row.head; piece.length === CHUNK; ) {
        const next = await client.query<{ piece: Buffer }>(`SELECT lo_get($1::oid, $2, ${CHUNK}) AS piece`, [row.oid, size]);
        piece = next.rows[0]!.piece;
        content.update(piece);
        size += piece.length;
      }
      total.update(`${row.oid}:${size}:${content.digest('hex')}\n`);
      count += 1;
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]!.oid;
  }
  return { count, sha256: total.digest('hex') };
}
