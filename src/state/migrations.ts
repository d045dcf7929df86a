import type { StateDb } from './state-types.ts';

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
  {
    version: 2,
    name: 'drill reports',
    sql: `
      CREATE TABLE drill_reports (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        passed boolean NOT NULL,
        checks_passed integer NOT NULL,
        checks_failed integer NOT NULL,
        checks_skipped integer NOT NULL,
        performed_by text NOT NULL,
        store_key text,
        report jsonb NOT NULL
      );
      CREATE INDEX drill_reports_started_at ON drill_reports (started_at DESC);
    `,
  },
  {
    version: 4,
    name: 'slack bot approvals and request ids',
    sql: `
      CREATE TABLE approvals (
        id text PRIMARY KEY,
        kind text NOT NULL,
        payload jsonb NOT NULL,
        requested_by text NOT NULL,
        reason text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
        expires_at timestamptz NOT NULL,
        decided_by text,
        decided_at timestamptz,
        channel text,
        message_ts text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX approvals_pending ON approvals (expires_at) WHERE status = 'pending';
      CREATE TABLE bot_requests (
        request_id text PRIMARY KEY,
        kind text NOT NULL,
        requested_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 5,
    name: 'schedule leases and alert state',
    sql: `
      CREATE TABLE schedule_leases (
        job text NOT NULL,
        fire_at timestamptz NOT NULL,
        owner text NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT now(),
        heartbeat timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        released_at timestamptz,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'skipped', 'abandoned')),
        error_message text,
        PRIMARY KEY (job, fire_at)
      );
      CREATE INDEX schedule_leases_unreleased ON schedule_leases (job) WHERE released_at IS NULL;
      CREATE TABLE alert_state (
        key text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('firing', 'resolved')),
        severity text NOT NULL,
        title text NOT NULL,
        fingerprint text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        notified_at timestamptz,
        resolved_at timestamptz
      );
    `,
  },
  {
    version: 13,
    name: 'scratch databases and closed databases Bantay owns',
    sql: `
      CREATE TABLE scratch_databases (
        server text NOT NULL,
        name text NOT NULL,
        db_oid bigint,
        purpose text NOT NULL,
        backup_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (server, name)
      );
      CREATE TABLE closed_databases (
        server text NOT NULL,
        name text NOT NULL,
        db_oid bigint NOT NULL,
        scratch text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('in-place', 'replace')),
        closed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (server, name)
      );
    `,
  },
  {
    version: 11,
    name: 'job run outcomes, causes and owners',
    sql: `
      ALTER TABLE job_runs DROP CONSTRAINT IF EXISTS job_runs_status_check;
      ALTER TABLE job_runs ADD CONSTRAINT job_runs_status_check
        CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'could-not-check', 'abandoned'));
      ALTER TABLE job_runs ADD COLUMN failure_cause text;
      ALTER TABLE job_runs ADD COLUMN owner text;
      CREATE INDEX job_runs_running ON job_runs (started_at) WHERE status = 'running'
    `,
  },
  {
    // Version 20: far from the numbers other work in flight uses (versions are unique, gaps allowed).
    version: 20,
    name: 'state journal',
    sql: `
      CREATE TABLE state_journal_applied (
        name text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 22,
    name: 'catalog trust: first authenticated write, backups seen per store',
    sql: `
      CREATE TABLE catalog_trust (
        name text PRIMARY KEY,
        at timestamptz NOT NULL
      );
      CREATE TABLE catalog_seen (
        store text NOT NULL,
        backup_id text NOT NULL,
        first_seen timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (store, backup_id)
      );
    `,
  },
  {
    // Numbered apart from the others' so parallel branches do not collide (gaps are allowed).
    version: 21,
    name: 'slack: one use per approval, alert messages updated in place',
    sql: `
      ALTER TABLE approvals ADD COLUMN used_at timestamptz;
      CREATE TABLE slack_alert_messages (
        key text PRIMARY KEY,
        channel text NOT NULL,
        ts text NOT NULL,
        severity text NOT NULL,
        title text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        resolved_at timestamptz,
        members jsonb NOT NULL DEFAULT '{}'
      );
    `,
  },
  {
    version: 23,
    name: 'incident mode: incidents and their events',
    sql: `
      CREATE TABLE incidents (
        id text PRIMARY KEY,
        scope text NOT NULL,
        exclusive boolean NOT NULL,
        scenario text NOT NULL,
        title text NOT NULL,
        severity text NOT NULL,
        summary text NOT NULL,
        detected_at timestamptz NOT NULL,
        declared_at timestamptz NOT NULL,
        declared_by text NOT NULL,
        commander text NOT NULL,
        status text NOT NULL,
        objective_seconds integer NOT NULL,
        steps jsonb NOT NULL,
        resolved_at timestamptz,
        slack_channel text,
        slack_ts text,
        report_key text
      );
      CREATE UNIQUE INDEX incidents_one_open ON incidents (scope) WHERE resolved_at IS NULL AND exclusive;
      CREATE TABLE incident_events (
        id bigserial PRIMARY KEY,
        incident_id text NOT NULL REFERENCES incidents (id),
        at timestamptz NOT NULL,
        kind text NOT NULL,
        actor text NOT NULL,
        text text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX incident_events_incident ON incident_events (incident_id, id)
    `,
  },
  {
    version: 24,
    name: 'incident mode: the Slack checklist message',
    sql: `ALTER TABLE incidents ADD COLUMN slack_checklist_ts text`,
  },
  {
    version: 25,
    name: 'incident mode: a step is done once, whatever races',
    sql: `CREATE UNIQUE INDEX incident_events_step_done ON incident_events (incident_id, (details->>'step')) WHERE kind = 'step-done'`,
  },
  {
    version: 26,
    name: 'incident mode: one resolve at a time writes the report',
    sql: `ALTER TABLE incidents ADD COLUMN resolving_owner text, ADD COLUMN resolving_since timestamptz`,
  },
];

export async function applyMigrations(db: StateDb): Promise<void> {
  await db.transaction(async (tx) => {
    // Serialise concurrent starters on a shared PostgreSQL (two replicas booting at once). The
    // lock comes first: CREATE TABLE IF NOT EXISTS itself races ("duplicate key ... pg_type").
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(74201)');
    await tx.query(`CREATE TABLE IF NOT EXISTS bantay_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM bantay_migrations')).map((r) => r.version));
    // By version, not array position: helpers append their versions independently, gaps allowed.
    for (const m of [...MIGRATIONS].sort((x, y) => x.version - y.version)) {
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
