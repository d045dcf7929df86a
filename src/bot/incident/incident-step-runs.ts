import { BantayError, ErrorCode } from '../../errors.ts';
import { parseIncidentId } from '../../jobs/incident/ids.ts';
import { requireIncident, requireStep } from '../../jobs/incident/incidents.ts';
import type { Incident, RunbookStep } from '../../jobs/incident/model.ts';
import { parseStepRun, recordStepFinished, recordStepStarted, type StepResult } from '../../jobs/incident/step-record.ts';
import type { RestoreTargetSpec } from '../job-spec.ts';
import type { StepPlan } from '../../jobs/incident/step-plan.ts';
import type { JobOutcome } from '../job-runner.ts';
import { escape } from '../messages/blocks.ts';
import type { BotServices } from '../services.ts';
import { actorText } from './incident-messages.ts';

/**
 * The end of a runbook step run from Slack, wherever its job was started: the Run modal (at
 * once) or an approval (in place, once a second person approved). Either way the step's finish
 * is recorded, the thread is told (a post, which notifies) and the checklist is refreshed.
 */
export function followStepJob(s: BotServices, incident: Incident, step: RunbookStep, plan: StepPlan, actor: string, run: string | undefined, done: Promise<JobOutcome>, target?: RestoreTargetSpec): void {
  void done
    .then(async (o) => {
      const result = o.ok
        ? { ok: true as const, details: stepResultOf(plan, target, o.result.backupId) }
        : { ok: false as const, error: 'error' in o ? o.error : new BantayError(ErrorCode.Integrity, o.result.headline) };
      await recordStepFinished(s.state, incident, step, plan, actor, run, result);
      await s.incident.reply(incident, `${o.ok ? ':white_check_mark:' : ':x:'} Step ${step.number} ${o.ok ? 'succeeded' : 'did not succeed'}: ${escape(step.text)} (${actorText(actor)})`);
      s.incident.refresh(incident.id);
    })
    .catch((err: unknown) => s.logger.error({ err, incidentId: incident.id }, 'could not record the end of an incident step'));
}

/**
 * What a successful step records for the report and for "verify the restored database": the
 * point a restore recovered, the new database it went to, and a point-in-time recovery's kept
 * copy (the backup id its result carries).
 */
function stepResultOf(plan: StepPlan, target: RestoreTargetSpec | undefined, resultBackupId: string | undefined): StepResult {
  const into = target?.mode === 'new' ? { target: target.name } : {};
  if (plan.kind === 'restore') return { recoveredPoint: plan.backupCreatedAt, ...into };
  if (plan.kind === 'restore-files') return { recoveredPoint: plan.backupCreatedAt };
  if (plan.kind === 'restore-pitr') return { ...into, ...(resultBackupId !== undefined ? { copyBackupId: resultBackupId } : {}) };
  return {};
}

/** What an approval request of an incident step carries, so the approval can close the step. */
export interface ApprovalStep {
  incidentId: string;
  step: number;
  /** The step's run (recordStepStarted), so the approval's end closes that run only. */
  run?: string;
}

/** The step an approval's payload names, checked (the payload is Bantay's own row, but a row is still input). */
export function approvalStepOf(payload: Record<string, unknown>): ApprovalStep | undefined {
  const ref = payload.incidentStep as { incidentId?: unknown; step?: unknown; run?: unknown } | undefined;
  if (ref === undefined || typeof ref.incidentId !== 'string' || typeof ref.step !== 'number' || !Number.isInteger(ref.step)) return undefined;
  const run = parseStepRun(ref.run);
  return { incidentId: parseIncidentId(ref.incidentId), step: ref.step, ...(run !== undefined ? { run } : {}) };
}

/** The plan an approved in-place step carries out, from the approval's own facts. */
function planOfApproval(payload: Record<string, unknown>): StepPlan {
  const spec = payload.spec as { backup?: unknown };
  const backup = payload.backup as { kind?: unknown; createdAt?: unknown };
  const backupId = String(spec.backup);
  const backupCreatedAt = String(backup.createdAt);
  return backup.kind === 'database' ? { kind: 'restore', backupId, backupCreatedAt, to: 'in-place', from: 'primary' } : { kind: 'restore-files', backupId, backupCreatedAt };
}

/**
 * Approved: the job started here, for the requester; its end closes the step. The run is
 * recorded again with this process as its owner, so a restart of the process that asked (or
 * of this one) closes it as abandoned only when the job's own process is gone.
 */
export async function followApprovedStep(s: BotServices, payload: Record<string, unknown>, requestedBy: string, approvedBy: string, done: Promise<JobOutcome>): Promise<void> {
  const ref = approvalStepOf(payload);
  if (ref === undefined) return;
  const incident = await requireIncident(s.state, ref.incidentId);
  const step = requireStep(incident, ref.step);
  const plan = planOfApproval(payload);
  const actor = `slack:${requestedBy}`;
  // Best effort: the job runs either way, and its end must still be recorded.
  if (ref.run !== undefined) {
    await recordStepStarted(s.state, incident, step, plan, actor, `approved by ${actorText(`slack:${approvedBy}`)}, running`, { run: ref.run }).catch((err: unknown) =>
      s.logger.error({ err, incidentId: incident.id }, 'could not record who runs an approved incident step'),
    );
  }
  followStepJob(s, incident, step, plan, actor, ref.run, done, { mode: 'in-place' });
}

/** Rejected, withdrawn, expired or not started: the step ends without running, said so in the thread. */
export async function endUnapprovedStep(s: BotServices, payload: Record<string, unknown>, requestedBy: string, why: string): Promise<void> {
  const ref = approvalStepOf(payload);
  if (ref === undefined) return;
  try {
    const incident = await requireIncident(s.state, ref.incidentId);
    const step = requireStep(incident, ref.step);
    await recordStepFinished(s.state, incident, step, planOfApproval(payload), `slack:${requestedBy}`, ref.run, { ok: false, error: new BantayError(ErrorCode.Aborted, why), cancelled: true });
    await s.incident.reply(incident, `:no_entry_sign: Step ${step.number} did not run: ${escape(why)}`);
    s.incident.refresh(incident.id);
  } catch (err) {
    s.logger.error({ err, incidentId: ref.incidentId }, 'could not record an incident step that was not approved');
  }
}
