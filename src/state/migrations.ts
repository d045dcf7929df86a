import type { StateDb } from './state-db.ts';

/**
 * Ordered, append-only schema changes. Never edit a migration that has shipped; add a new one.
 * Applied at start inside one transaction each, recorded in bantay_migrations.
 */
const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'audit log and job runs',
    sql: `
      CREATE TABLE backup_audit (
        id bigserial PRIMARY KEY,
        operation_type text NOT NULL,
        backup_type text,
        status text NOT NULL,
        file_path text,
        file_size bigint,
        duration_seconds numeric(12,3),
        error_message text,
        performed_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        backup_id text,
        details jsonb
      );
      CREATE INDEX backup_audit_created_at ON backup_audit (created_at DESC);
      CREATE INDEX backup_audit_backup_id ON backup_audit (backup_id);
      CREATE TABLE job_runs (
        id text PRIMARY KEY,
        job text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        performed_by text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        backup_id text,
        error_message text
      );
      CREATE INDEX job_runs_started_at ON job_runs (started_at DESC);
    `,
  },
];

export async function applyMigrations(db: StateDb): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS bantay_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  await db.transaction(async (tx) => {
    // Serialise concurrent starters on a shared PostgreSQL (two replicas booting at once).
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(74201)');
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM bantay_migrations')).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO bantay_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
  });
}

function splitStatements(sql: string): string[] {
  return sql
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
