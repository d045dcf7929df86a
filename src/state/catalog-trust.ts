import type { Queryable } from './state-db.ts';

/**
 * What the state database remembers for the catalog's trust rules
 * (docs/catalog-authentication.md §3):
 * - when this installation first wrote an authenticated record: an unauthenticated record
 *   dated later cannot have come from it;
 * - which backups it has seen in each store (by the store's description): one that is gone
 *   without a prune deleting it was removed behind Bantay's back (e.g. to roll "latest" back).
 */
const FIRST_AUTHENTICATED_WRITE = 'first-authenticated-write';

/** Noted per state database per process, so each signed write costs a query only once. */
const noted = new WeakSet<object>();

export async function noteAuthenticatedWrite(db: Queryable, at: Date): Promise<void> {
  if (noted.has(db)) return;
  await db.query('INSERT INTO catalog_trust (name, at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [FIRST_AUTHENTICATED_WRITE, at]);
  noted.add(db);
}

export async function firstAuthenticatedWrite(db: Queryable): Promise<Date | undefined> {
  const rows = await db.query<{ at: Date | string }>('SELECT at FROM catalog_trust WHERE name = $1', [FIRST_AUTHENTICATED_WRITE]);
  return rows[0] === undefined ? undefined : new Date(rows[0].at);
}

/** Records that these backups exist in `store` (its description). */
export async function noteBackupsSeen(db: Queryable, store: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `INSERT INTO catalog_seen (store, backup_id) SELECT $1, unnest($2::text[])
     ON CONFLICT (store, backup_id) DO UPDATE SET last_seen = now()`,
    [store, [...ids]],
  );
}

export interface VanishedBackup {
  id: string;
  firstSeen: Date;
  lastSeen: Date;
}

/**
 * Backups seen in `store` that are not in `present` and that Bantay did not delete itself: no
 * successful prune of the id, and no failed backup run of it (whose cleanup removes a manifest
 * it had already written).
 */
export async function findVanishedBackups(db: Queryable, store: string, present: ReadonlySet<string>): Promise<VanishedBackup[]> {
  const rows = await db.query<{ backup_id: string; first_seen: Date | string; last_seen: Date | string }>(
    `SELECT s.backup_id, s.first_seen, s.last_seen FROM catalog_seen s
      WHERE s.store = $1
        AND NOT EXISTS (SELECT 1 FROM backup_audit a WHERE a.backup_id = s.backup_id
                          AND ((a.operation_type = 'prune' AND a.status = 'succeeded')
                            OR (a.operation_type = 'backup' AND a.status = 'failed')))
      ORDER BY s.backup_id DESC`,
    [store],
  );
  return rows
    .filter((r) => !present.has(r.backup_id))
    .map((r) => ({ id: r.backup_id, firstSeen: new Date(r.first_seen), lastSeen: new Date(r.last_seen) }));
}
