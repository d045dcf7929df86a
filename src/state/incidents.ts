import { isAbandonedOwner } from './job-runs.ts';
import type { Queryable } from './state-types.ts';

/**
 * The incidents and incident_events tables (migration 23). Rows in, rows out: the rules of
 * incident mode (one open per scope, who may do what) live in src/jobs/incident/.
 */
export interface IncidentRow {
  id: string;
  scope: string;
  exclusive: boolean;
  scenario: string;
  title: string;
  severity: string;
  summary: string;
  detectedAt: Date;
  declaredAt: Date;
  declaredBy: string;
  commander: string;
  status: string;
  objectiveSeconds: number;
  steps: unknown;
  resolvedAt: Date | null;
  slackChannel: string | null;
  slackTs: string | null;
  slackChecklistTs: string | null;
  reportKey: string | null;
}

export interface IncidentEventRow {
  id: string;
  incidentId: string;
  at: Date;
  kind: string;
  actor: string;
  text: string;
  details: unknown;
}

const COLUMNS = `id, scope, exclusive, scenario, title, severity, summary, detected_at AS "detectedAt", declared_at AS "declaredAt",
  declared_by AS "declaredBy", commander, status, objective_seconds AS "objectiveSeconds", steps, resolved_at AS "resolvedAt",
  slack_channel AS "slackChannel", slack_ts AS "slackTs", slack_checklist_ts AS "slackChecklistTs", report_key AS "reportKey"`;

export async function insertIncident(db: Queryable, row: Omit<IncidentRow, 'resolvedAt' | 'slackChannel' | 'slackTs' | 'slackChecklistTs' | 'reportKey'>): Promise<void> {
  await db.query(
    `INSERT INTO incidents (id, scope, exclusive, scenario, title, severity, summary, detected_at, declared_at, declared_by, commander, status, objective_seconds, steps)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [row.id, row.scope, row.exclusive, row.scenario, row.title, row.severity, row.summary, row.detectedAt, row.declaredAt, row.declaredBy, row.commander, row.status, row.objectiveSeconds, JSON.stringify(row.steps)],
  );
}

export async function selectIncident(db: Queryable, id: string): Promise<IncidentRow | undefined> {
  const [row] = await db.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE id = $1`, [id]);
  return row;
}

/** Open incidents, newest first; of one scope when given. */
export async function selectOpenIncidents(db: Queryable, scope?: string): Promise<IncidentRow[]> {
  return db.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE resolved_at IS NULL AND ($1::text IS NULL OR scope = $1) ORDER BY declared_at DESC`, [scope ?? null]);
}

export async function selectIncidents(db: Queryable, limit: number): Promise<IncidentRow[]> {
  return db.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents ORDER BY declared_at DESC LIMIT $1`, [limit]);
}

export async function updateIncident(
  db: Queryable,
  id: string,
  fields: Partial<Pick<IncidentRow, 'commander' | 'status' | 'resolvedAt' | 'slackChannel' | 'slackTs' | 'slackChecklistTs' | 'reportKey'>>,
): Promise<void> {
  const columns: Record<string, string> = { commander: 'commander', status: 'status', resolvedAt: 'resolved_at', slackChannel: 'slack_channel', slackTs: 'slack_ts', slackChecklistTs: 'slack_checklist_ts', reportKey: 'report_key' };
  const sets: string[] = [];
  const params: unknown[] = [id];
  for (const [field, column] of Object.entries(columns)) {
    if (!(field in fields)) continue;
    params.push(fields[field as keyof typeof fields]);
    sets.push(`${column} = $${params.length}`);
  }
  // The commander and status of a resolved incident are final (its report says them).
  const openOnly = 'commander' in fields || 'status' in fields ? ' AND resolved_at IS NULL' : '';
  if (sets.length > 0) await db.query(`UPDATE incidents SET ${sets.join(', ')} WHERE id = $1${openOnly}`, params);
}

/**
 * Adds an event to an open incident; false (nothing written) when it is resolved, so a late
 * job or click never changes a final report. Only the 'resolved' event itself is written after.
 */
export async function insertIncidentEvent(db: Queryable, event: Omit<IncidentEventRow, 'id'>): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO incident_events (incident_id, at, kind, actor, text, details)
     SELECT $1, $2, $3, $4, $5, $6 WHERE $3 = 'resolved' OR EXISTS (SELECT 1 FROM incidents WHERE id = $1 AND resolved_at IS NULL)
     RETURNING id`,
    [event.incidentId, event.at, event.kind, event.actor, event.text, JSON.stringify(event.details ?? {})],
  );
  return rows.length === 1;
}

/**
 * Claims the announcement of an incident in Slack (its headline not posted yet): true for one
 * caller only, so a console-declared incident is announced once whatever runs the sync.
 * `releaseAnnouncement` gives it back when the post failed.
 */
export async function claimAnnouncement(db: Queryable, id: string, channel: string): Promise<boolean> {
  const rows = await db.query('UPDATE incidents SET slack_channel = $2 WHERE id = $1 AND slack_channel IS NULL AND slack_ts IS NULL RETURNING id', [id, channel]);
  return rows.length === 1;
}

export async function releaseAnnouncement(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE incidents SET slack_channel = NULL WHERE id = $1 AND slack_ts IS NULL', [id]);
}

/**
 * Claims the writing of an open incident's report for one resolve (ownerToken plus a nonce), so two
 * resolves racing never overwrite each other's report in the store: false when another live
 * resolve holds it. A claim whose process is gone, or older than `staleAfterMs` (a resolve
 * writes two small objects: minutes mean it hangs or died on another host), is taken over.
 */
export async function claimResolve(db: Queryable, id: string, owner: string, now: Date, staleAfterMs = 10 * 60_000): Promise<boolean> {
  const current = await db.query<{ owner: string | null; since: Date | null }>('SELECT resolving_owner AS owner, resolving_since AS since FROM incidents WHERE id = $1 AND resolved_at IS NULL', [id]);
  const row = current[0];
  if (row === undefined) return false;
  const free = row.owner === null || isAbandonedOwner(row.owner, false) || (row.since !== null && now.getTime() - row.since.getTime() > staleAfterMs);
  if (!free) return false;
  // Conditional on the value read: of two takers of one stale claim, one wins.
  const taken = await db.query(
    'UPDATE incidents SET resolving_owner = $2, resolving_since = $3 WHERE id = $1 AND resolved_at IS NULL AND resolving_owner IS NOT DISTINCT FROM $4 RETURNING id',
    [id, owner, now, row.owner],
  );
  return taken.length === 1;
}

/** Whether this resolve still holds the claim (a slow one may have been taken over). */
export async function holdsResolve(db: Queryable, id: string, owner: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM incidents WHERE id = $1 AND resolved_at IS NULL AND resolving_owner = $2', [id, owner])).length === 1;
}

/** Gives the claim back after a resolve that failed (the store refused the report): the incident stays open, to resolve again. */
export async function releaseResolve(db: Queryable, id: string, owner: string): Promise<void> {
  await db.query('UPDATE incidents SET resolving_owner = NULL, resolving_since = NULL WHERE id = $1 AND resolving_owner = $2', [id, owner]);
}

/**
 * Claims posting the checklist of an incident whose headline is posted but whose checklist
 * is not (its post failed, or the poster died): a placeholder `posting:<time>` in
 * slack_checklist_ts, taken over when older than `staleAfterMs`. False when another is on it.
 */
export async function claimChecklistPost(db: Queryable, id: string, now: Date, staleAfterMs = 5 * 60_000): Promise<string | undefined> {
  const claim = `posting:${now.toISOString()}`;
  const rows = await db.query(
    `UPDATE incidents SET slack_checklist_ts = $2 WHERE id = $1 AND slack_ts IS NOT NULL AND resolved_at IS NULL
        AND (slack_checklist_ts IS NULL OR CASE WHEN slack_checklist_ts LIKE 'posting:%' THEN substr(slack_checklist_ts, 9)::timestamptz < $3 ELSE false END) RETURNING id`,
    [id, claim, new Date(now.getTime() - staleAfterMs)],
  );
  return rows.length === 1 ? claim : undefined;
}

/** Gives this caller's checklist claim back after a failed post (never a newer taker's), so the next sync tries again. */
export async function releaseChecklistPost(db: Queryable, id: string, claim: string): Promise<void> {
  await db.query('UPDATE incidents SET slack_checklist_ts = NULL WHERE id = $1 AND slack_checklist_ts = $2', [id, claim]);
}

/** A checklist ts that is a claim placeholder, not a message. */
export function isChecklistClaim(ts: string | null): boolean {
  return ts !== null && ts.startsWith('posting:');
}

/** Marks an incident resolved once: false when it already was (two resolves racing). */
export async function markIncidentResolved(db: Queryable, id: string, at: Date, reportKey: string): Promise<boolean> {
  const rows = await db.query(`UPDATE incidents SET status = 'resolved', resolved_at = $2, report_key = $3 WHERE id = $1 AND resolved_at IS NULL RETURNING id`, [id, at, reportKey]);
  return rows.length === 1;
}

/**
 * Closes the runbook steps a dead process left running (kill -9 mid-step, a restart while an
 * approval waited): a 'step-finished' event, failed with cause "abandoned", for every
 * 'step-started' of an open incident with no finish (or done) after it whose owner process is
 * gone: the same "running" as runningSteps in src/jobs/incident/incidents.ts.
 * Called at every start, like closeAbandonedRuns; a step started before owners were recorded
 * (an earlier version, so a process gone since) is closed too. One on another host is that
 * host's to close; marking the step done also ends it.
 */
export async function closeAbandonedSteps(db: Queryable): Promise<number> {
  // Ended by: its own run's finish, a finish with no run (recorded before runs were), or done.
  // A start taken over by a later start of the same run (the approved job's process) is that one's.
  const rows = await db.query<{ incidentId: string; step: number; owner: string | null; run: string | null; waiting: boolean }>(
    `SELECT s.incident_id AS "incidentId", (s.details->>'step')::int AS step, s.details->>'owner' AS owner, s.details->>'run' AS run,
            (s.details->>'waitsForApproval') IS NOT NULL AS waiting
       FROM incident_events s JOIN incidents i ON i.id = s.incident_id AND i.resolved_at IS NULL
      WHERE s.kind = 'step-started'
        AND NOT EXISTS (SELECT 1 FROM incident_events l WHERE l.incident_id = s.incident_id AND l.kind = 'step-started' AND l.id > s.id
                          AND s.details->>'run' IS NOT NULL AND l.details->>'run' = s.details->>'run')
        AND NOT EXISTS (SELECT 1 FROM incident_events f WHERE f.incident_id = s.incident_id AND f.kind IN ('step-finished', 'step-done')
                          AND f.details->>'step' = s.details->>'step' AND (f.at > s.at OR (f.at = s.at AND f.id > s.id))
                          AND (f.kind = 'step-done' OR f.details->>'run' IS NULL OR s.details->>'run' IS NULL OR f.details->>'run' = s.details->>'run'))`,
  );
  let closed = 0;
  for (const row of rows) {
    // No owner: started before owners were recorded, by a process that an upgrade has since replaced.
    if (row.owner !== null && !isAbandonedOwner(row.owner, false)) continue;
    // Waiting for a second person: alive while the approval is, whichever process asked.
    if (row.waiting && row.run !== null && (await db.query(`SELECT 1 FROM approvals WHERE status = 'pending' AND payload->'incidentStep'->>'run' = $1`, [row.run])).length > 0) continue;
    const text = `Step ${row.step} abandoned: the Bantay process running it stopped without finishing (killed, crashed or restarted); run it again or mark it done`;
    if (await insertIncidentEvent(db, { incidentId: row.incidentId, at: new Date(), kind: 'step-finished', actor: 'bantay', text, details: { step: row.step, ...(row.run !== null ? { run: row.run } : {}), outcome: 'failed', cause: 'abandoned' } })) closed++;
  }
  return closed;
}

export async function selectIncidentEvents(db: Queryable, incidentId: string): Promise<IncidentEventRow[]> {
  return db.query<IncidentEventRow>(
    'SELECT id::text, incident_id AS "incidentId", at, kind, actor, text, details FROM incident_events WHERE incident_id = $1 ORDER BY at, id',
    [incidentId],
  );
}

/** The newest status-update event of each of these incidents, in one query (the public page is unauthenticated: no query per incident). */
export async function selectLastStatusUpdates(db: Queryable, incidentIds: readonly string[]): Promise<IncidentEventRow[]> {
  if (incidentIds.length === 0) return [];
  return db.query<IncidentEventRow>(
    `SELECT DISTINCT ON (incident_id) id::text, incident_id AS "incidentId", at, kind, actor, text, details
       FROM incident_events WHERE kind = 'status-update' AND incident_id = ANY($1::text[]) ORDER BY incident_id, at DESC, id DESC`,
    [incidentIds],
  );
}

/** The audit rows written between two times (the incident's own jobs, approvals and refusals). */
export async function selectAuditBetween(db: Queryable, from: Date, to: Date): Promise<Array<{ id: string; operationType: string; backupType: string | null; status: string; performedBy: string; backupId: string | null; errorMessage: string | null; durationSeconds: string | null; createdAt: Date; details: unknown }>> {
  return db.query(
    `SELECT id::text, operation_type AS "operationType", backup_type AS "backupType", status, performed_by AS "performedBy",
            backup_id AS "backupId", error_message AS "errorMessage", duration_seconds::text AS "durationSeconds", created_at AS "createdAt", details
       FROM backup_audit WHERE created_at >= $1 AND created_at <= $2 ORDER BY created_at, id`,
    [from, to],
  );
}
