import { writeState, type Queryable } from './state-db.ts';

/**
 * What Bantay itself created or closed on a PostgreSQL server, so crash cleanup touches only
 * that: scratch databases (recorded before CREATE DATABASE, with their oid right after) and
 * live databases an in-place restore or --replace closed to connections (with the oid of the
 * database that was closed). `server` is the server's identity (system identifier, else
 * host:port), so records of one server never act on another. Writes go through writeState, so a
 * CLI run that defers its state writes journals them (durably, before CREATE DATABASE runs)
 * instead of opening the embedded database beside a running `bantay serve`; they carry their
 * own time for that reason.
 */
export interface ScratchRecord {
  server: string;
  name: string;
  oid: number | null;
  purpose: string;
  backupId: string | null;
}

export interface ClosedRecord {
  server: string;
  name: string;
  oid: number;
  /** The scratch database whose owner closed it: while that owner lives, its advisory lock is held. */
  scratch: string;
  kind: 'in-place' | 'replace';
}

export async function recordScratch(db: Queryable, r: Omit<ScratchRecord, 'oid'>): Promise<void> {
  await writeState(db, 'INSERT INTO scratch_databases (server, name, purpose, backup_id, created_at) VALUES ($1, $2, $3, $4, $5)', [r.server, r.name, r.purpose, r.backupId, new Date()]);
}

export async function setScratchOid(db: Queryable, server: string, name: string, oid: number): Promise<void> {
  await writeState(db, 'UPDATE scratch_databases SET db_oid = $3 WHERE server = $1 AND name = $2', [server, name, oid]);
}

export async function forgetScratch(db: Queryable, server: string, name: string): Promise<void> {
  await writeState(db, 'DELETE FROM scratch_databases WHERE server = $1 AND name = $2', [server, name]);
}

export async function listScratch(db: Queryable, server: string): Promise<ScratchRecord[]> {
  const rows = await db.query<{ server: string; name: string; db_oid: string | number | null; purpose: string; backup_id: string | null }>(
    'SELECT server, name, db_oid, purpose, backup_id FROM scratch_databases WHERE server = $1 ORDER BY created_at, name',
    [server],
  );
  return rows.map((r) => ({ server: r.server, name: r.name, oid: r.db_oid === null ? null : Number(r.db_oid), purpose: r.purpose, backupId: r.backup_id }));
}

export async function recordClosed(db: Queryable, r: ClosedRecord): Promise<void> {
  await writeState(
    db,
    `INSERT INTO closed_databases (server, name, db_oid, scratch, kind, closed_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (server, name) DO UPDATE SET db_oid = EXCLUDED.db_oid, scratch = EXCLUDED.scratch, kind = EXCLUDED.kind, closed_at = EXCLUDED.closed_at`,
    [r.server, r.name, r.oid, r.scratch, r.kind, new Date()],
  );
}

export async function forgetClosed(db: Queryable, server: string, name: string): Promise<void> {
  await writeState(db, 'DELETE FROM closed_databases WHERE server = $1 AND name = $2', [server, name]);
}

export async function listClosed(db: Queryable, server: string): Promise<ClosedRecord[]> {
  const rows = await db.query<{ server: string; name: string; db_oid: string | number; scratch: string; kind: 'in-place' | 'replace' }>(
    'SELECT server, name, db_oid, scratch, kind FROM closed_databases WHERE server = $1 ORDER BY closed_at, name',
    [server],
  );
  return rows.map((r) => ({ server: r.server, name: r.name, oid: Number(r.db_oid), scratch: r.scratch, kind: r.kind }));
}
