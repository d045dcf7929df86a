import { writeState, type Queryable } from './state-db.ts';

/** Job runs let monitoring find failed and stuck jobs, and the bot show what runs now. */
/**
 * Records a job as running. `backupId` names the backup a restore or verify reads, so retention
 * never deletes a backup while a job is using it.
 */
export async function startJobRun(db: Queryable, run: { id: string; job: string; performedBy: string; backupId?: string }): Promise<void> {
  // Journalable (state-db.ts writeState): the row carries its own started_at.
  await writeState(db, `INSERT INTO job_runs (id, job, status, performed_by, backup_id, started_at) VALUES ($1, $2, 'running', $3, $4, $5)`, [
    run.id,
    run.job,
    run.performedBy,
    run.backupId ?? null,
    new Date(),
  ]);
}

export async function finishJobRun(
  db: Queryable,
  id: string,
  outcome: { status: 'succeeded' | 'failed'; backupId?: string; errorMessage?: string },
): Promise<void> {
  await writeState(db, `UPDATE job_runs SET status = $2, finished_at = $5, backup_id = COALESCE($3, backup_id), error_message = $4 WHERE id = $1`, [
    id,
    outcome.status,
    outcome.backupId ?? null,
    outcome.errorMessage ?? null,
    new Date(),
  ]);
}
