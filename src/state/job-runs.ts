import { hostname } from 'node:os';
import { writeState } from './journal.ts';
import { currentProcess, isProcessRunning } from './process-identity.ts';
import type { Queryable } from './state-types.ts';

/** Job runs let monitoring find failed and stuck jobs, and the bot show what runs now. */
export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'could-not-check' | 'abandoned';

/**
 * Records a job as running, owned by this process (host, boot, pid, start time: see
 * process-identity.ts), so the next start of any Bantay process can tell a run whose process
 * died from one that is still going. `backupId` names the backup a restore or verify reads, so
 * retention never deletes a backup while a job is using it.
 */
export async function startJobRun(db: Queryable, run: { id: string; job: string; performedBy: string; backupId?: string }): Promise<void> {
  // Journalable (journal.ts writeState): the row carries its own started_at.
  await writeState(
    db,
    `INSERT INTO job_runs (id, job, status, performed_by, backup_id, started_at, owner) VALUES ($1, $2, 'running', $3, $4, $5, $6)`,
    [run.id, run.job, run.performedBy, run.backupId ?? null, new Date(), ownerToken()],
  );
}

export async function finishJobRun(
  db: Queryable,
  id: string,
  outcome: { status: Exclude<JobRunStatus, 'running' | 'abandoned'>; backupId?: string; errorMessage?: string; cause?: string },
): Promise<void> {
  await writeState(
    db,
    `UPDATE job_runs SET status = $2, finished_at = $6, backup_id = COALESCE($3, backup_id), error_message = $4, failure_cause = $5 WHERE id = $1`,
    [id, outcome.status, outcome.backupId ?? null, outcome.errorMessage ?? null, outcome.cause ?? null, new Date()],
  );
}

/** "host|boot id|pid|start time" of this process: who owns a run (or an incident step) it starts. */
export function ownerToken(): string {
  const me = currentProcess();
  return [me.host, me.bootId ?? '', me.pid, me.startTime ?? ''].join('|');
}

export interface AbandonedRun {
  id: string;
  job: string;
  performedBy: string;
  startedAt: Date;
  backupId: string | null;
}

/**
 * Closes job runs left "running" by a process that is gone (kill -9, OOM, power loss, a
 * container restart) as 'abandoned', each with an audit row, and returns them. Called at every
 * start. `exclusive` (the embedded state database, which one process holds at a time) means
 * every running row belongs to a dead process. On a shared PostgreSQL only rows owned by this
 * host are judged, by boot id, pid and start time; other hosts' rows are theirs to close (the
 * monitor's stuck-job check still sees them).
 */
export async function closeAbandonedRuns(db: Queryable, options: { exclusive: boolean }): Promise<AbandonedRun[]> {
  const rows = await db.query<{ id: string; job: string; performed_by: string; started_at: Date; backup_id: string | null; owner: string | null }>(
    `SELECT id, job, performed_by, started_at, backup_id, owner FROM job_runs WHERE status = 'running' ORDER BY started_at`,
  );
  const closed: AbandonedRun[] = [];
  for (const row of rows) {
    if (!isAbandonedOwner(row.owner, options.exclusive)) continue;
    const updated = await db.query(
      `UPDATE job_runs SET status = 'abandoned', finished_at = now(), failure_cause = 'abandoned',
              error_message = 'the Bantay process running it stopped without finishing (killed, crashed or restarted)'
        WHERE id = $1 AND status = 'running' RETURNING id`,
      [row.id],
    );
    if (updated.length === 0) continue; // another starter closed it first
    const run = { id: row.id, job: row.job, performedBy: row.performed_by, startedAt: new Date(row.started_at), backupId: row.backup_id };
    await db.query(
      `INSERT INTO backup_audit (operation_type, backup_type, status, error_message, performed_by, backup_id, details)
       VALUES ($1, $2, 'abandoned', $3, $4, $5, $6)`,
      [
        row.job.split(' ')[0] ?? row.job,
        row.job.split(' ').slice(1).join(' ') || null,
        `${row.job} started ${run.startedAt.toISOString()} was abandoned: its process stopped without finishing`,
        row.performed_by,
        row.backup_id,
        JSON.stringify({ runId: row.id, owner: row.owner, closedBy: ownerToken(), classification: { outcome: 'failed', cause: 'abandoned' } }),
      ],
    );
    closed.push(run);
  }
  return closed;
}

/** Whether the process an owner token names is gone (see closeAbandonedRuns for `exclusive`). */
export function isAbandonedOwner(owner: string | null, exclusive: boolean): boolean {
  const me = currentProcess();
  if (owner === null) return exclusive;
  const [host, bootId, pid, startTime] = owner.split('|');
  if (owner === ownerToken()) return false;
  if (exclusive) return true;
  if (host !== hostname()) return false;
  return !isProcessRunning({ pid: Number(pid), bootId: bootId || undefined, startTime: startTime || undefined }) || (me.bootId !== undefined && bootId !== '' && bootId !== me.bootId);
}
