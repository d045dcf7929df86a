import type { Queryable } from '../state/state-db.ts';

/**
 * state/journal.ts writeState's contract without a run-time import of the state layer (the
 * catalog sits below it): journaled when the handle defers writes (the journal itself refuses
 * writes that cannot be replayed later), run now otherwise.
 */
async function writeState(db: Queryable, sql: string, params: unknown[]): Promise<void> {
  if (db.append) await db.append(sql, params);
  else await db.query(sql, params);
}

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
  // A journalable write: one-shot commands (a backup) do not open the embedded database for it.
  await writeState(db, 'INSERT INTO catalog_trust (name, at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [FIRST_AUTHENTICATED_WRITE, at]);
  noted.add(db);
}

/** Once set the time never changes, so it is cached per state database. */
const firstWrites = new WeakMap<object, Date>();

export async function firstAuthenticatedWrite(db: Queryable): Promise<Date | undefined> {
  const cached = firstWrites.get(db);
  if (cached !== undefined) return cached;
  const rows = await db.query<{ at: Date | string }>('SELECT at FROM catalog_trust WHERE name = $1', [FIRST_AUTHENTICATED_WRITE]);
  if (rows[0] === undefined) return undefined;
  const at = new Date(rows[0].at);
  firstWrites.set(db, at);
  return at;
}

/** Records that these backups exist in `store` (its description). */
export async function noteBackupsSeen(db: Queryable, store: string, ids: readonly string[], at: Date = new Date()): Promise<void> {
  if (ids.length === 0) return;
  // Carries its own time, so it can be journaled (see writeState).
  await writeState(
    db,
    `INSERT INTO catalog_seen (store, backup_id, first_seen, last_seen) SELECT $1, unnest($2::text[]), $3, $3
     ON CONFLICT (store, backup_id) DO UPDATE SET last_seen = $3`,
    [store, [...ids], at],
  );
}

export interface VanishedBackup {
  id: string;
  firstSeen: Date;
  lastSeen: Date;
}

/**
 * The backups that should be in `store`: seen there, and not deleted by Bantay itself (no
 * successful prune of the id, and no failed backup run of it, whose cleanup removes a manifest
 * it had already written).
 */
export async function expectedBackups(db: Queryable, store: string): Promise<VanishedBackup[]> {
  const rows = await db.query<{ backup_id: string; first_seen: Date | string; last_seen: Date | string }>(
    `SELECT s.backup_id, s.first_seen, s.last_seen FROM catalog_seen s
      WHERE s.store = $1
        AND NOT EXISTS (SELECT 1 FROM backup_audit a WHERE a.backup_id = s.backup_id
                          AND ((a.operation_type = 'prune' AND a.status = 'succeeded')
                            OR (a.operation_type = 'backup' AND a.status IN ('failed', 'cancelled'))))
      ORDER BY s.backup_id DESC`,
    [store],
  );
  return rows.map((r) => ({ id: r.backup_id, firstSeen: new Date(r.first_seen), lastSeen: new Date(r.last_seen) }));
}

/** Expected backups (see expectedBackups) that are not in `present`: removed behind Bantay's back. */
export async function findVanishedBackups(db: Queryable, store: string, present: ReadonlySet<string>): Promise<VanishedBackup[]> {
  return (await expectedBackups(db, store)).filter((b) => !present.has(b.id));
}
