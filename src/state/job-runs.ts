import type { Queryable } from './state-db.ts';

/** Job runs let monitoring find failed and stuck jobs, and the bot show what runs now. */
export async function startJobRun(db: Queryable, run: { id: string; job: string; performedBy: string }): Promise<void> {
  await db.query(`INSERT INTO job_runs (id, job, status, performed_by) VALUES ($1, $2, 'running', $3)`, [
    run.id,
    run.job,
    run.performedBy,
  ]);
}

export async function finishJobRun(
  db: Queryable,
  id: string,
  outcome: { status: 'succeeded' | 'failed'; backupId?: string; errorMessage?: string },
): Promise<void> {
  await db.query(`UPDATE job_runs SET status = $2, finished_at = now(), backup_id = $3, error_message = $4 WHERE id = $1`, [
    id,
    outcome.status,
    outcome.backupId ?? null,
    outcome.errorMessage ?? null,
  ]);
}
