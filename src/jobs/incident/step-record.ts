import { randomBytes } from 'node:crypto';
import { classifyFailure } from '../../failure.ts';
import { redactSecrets } from '../../log/redact.ts';
import { ownerToken } from '../../state/job-runs.ts';
import type { Queryable } from '../../state/state-types.ts';
import { addEvent, requireOpen } from './incidents.ts';
import type { Incident, RunbookStep } from './model.ts';
import type { StepPlan } from './step-plan.ts';

/**
 * A step Bantay runs is two events around the job: started (what it will do) and finished
 * (the outcome in the one failure classification, and for restores the backup and the point
 * recovered, which the report's data loss is measured from). A successful run also marks the
 * step done. The job's own audit rows join the timeline by time.
 */
export async function recordStepStarted(
  db: Queryable,
  incident: Incident,
  step: RunbookStep,
  plan: StepPlan,
  actor: string,
  description: string,
  opts: { run?: string; waitsForApproval?: boolean } = {},
): Promise<string> {
  requireOpen(incident);
  // The owner lets the next start close a step whose process died (closeAbandonedSteps); the
  // run pairs this start with its own finish, so a second run of the step that is refused
  // (busy, not approved) never ends the first one's "running". A start waiting for approval is
  // alive while its approval is pending, whoever asked; once approved, the process running the
  // job records the same run again as its owner.
  const run = opts.run ?? randomBytes(6).toString('hex');
  const details = { step: step.number, run, owner: ownerToken(), ...(opts.waitsForApproval ? { waitsForApproval: true } : {}), ...planDetails(plan) };
  await addEvent(db, incident.id, 'step-started', actor, `Step ${step.number} started: ${description}`, details);
  return run;
}

/** A run id as recordStepStarted makes them (it travels through approval rows: checked). */
export function parseStepRun(value: unknown): string | undefined {
  return typeof value === 'string' && /^[0-9a-f]{12}$/.test(value) ? value : undefined;
}

export interface StepResult {
  /** The recovered point of a restore: the backup's time, or the last replayed transaction of a PITR. */
  recoveredPoint?: string;
  /** The new database a restore went to (none for in place: plan.to says so). */
  target?: string;
  /** A point-in-time recovery's kept copy: the backup its new database was restored from. */
  copyBackupId?: string;
}

/** `run`: what recordStepStarted returned (undefined only for a start recorded before runs were). */
export async function recordStepFinished(
  db: Queryable,
  incident: Incident,
  step: RunbookStep,
  plan: StepPlan,
  actor: string,
  run: string | undefined,
  result: { ok: true; details?: StepResult } | { ok: false; error: unknown; cancelled?: boolean },
): Promise<void> {
  const ids = { step: step.number, ...(run !== undefined ? { run } : {}) };
  if (result.ok) {
    await addEvent(db, incident.id, 'step-finished', actor, `Step ${step.number} succeeded`, { ...ids, outcome: 'succeeded', ...planDetails(plan), ...result.details });
    // Someone may have marked it done while it ran: the step is done either way.
    await addEvent(db, incident.id, 'step-done', actor, `Step ${step.number} done: ${step.text}`, { step: step.number, byBantay: true }).catch((err: unknown) => {
      if ((err as { code?: string }).code !== '23505') throw err;
    });
    return;
  }
  const c = classifyFailure(result.error, { cancelled: result.cancelled });
  const message = redactSecrets(result.error instanceof Error ? result.error.message : String(result.error)).slice(0, 500);
  await addEvent(db, incident.id, 'step-finished', actor, `Step ${step.number} ${c.outcome}: ${message}`, { ...ids, outcome: c.outcome, cause: c.cause, ...planDetails(plan) });
}

function planDetails(plan: StepPlan): Record<string, unknown> {
  switch (plan.kind) {
    case 'restore':
      return { plan: 'restore', backupId: plan.backupId, backupCreatedAt: plan.backupCreatedAt, to: plan.to, from: plan.from };
    case 'restore-pitr':
      return { plan: 'restore-pitr', time: plan.time.toISOString(), to: plan.to };
    case 'verify':
      return { plan: 'verify', backupId: plan.backupId, from: plan.from, ...(plan.restored ? { checked: plan.restored.to === 'in-place' ? 'live' : plan.restored.database } : {}) };
    case 'restore-files':
      return { plan: 'restore-files', backupId: plan.backupId };
    case 'hook':
      return { plan: `${plan.hook}-app` };
    case 'emergency-backup':
      return { plan: 'emergency-backup' };
  }
}
