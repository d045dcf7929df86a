import { randomBytes } from 'node:crypto';
import { catalogEntry } from '../../catalog/catalog.ts';
import { writeIncidentReport, type IncidentReport } from '../../catalog/incident-report.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { claimResolve, holdsResolve, releaseResolve, selectAuditBetween } from '../../state/incidents.ts';
import { ownerToken } from '../../state/job-runs.ts';
import type { JobDeps } from '../job-context.ts';
import { buildIncidentReport, type AuditFact, type Resolution } from './build-report.ts';
import { closeIncident, incidentEvents, requireOpen, runningSteps } from './incidents.ts';
import type { Incident } from './model.ts';
import { renderIncidentReport } from './render-report.ts';

/**
 * Resolving writes the recovery report (store: Markdown, then the authenticated JSON) and only
 * then marks the incident resolved: a store failure leaves the incident open, to resolve again.
 * One resolve at a time holds the incident's claim (claimResolve), so of two racing the report
 * in the store is always the one of the resolve that closed the incident.
 */
export async function resolveIncident(
  deps: Pick<JobDeps, 'state' | 'store' | 'keyRing' | 'now'>,
  incident: Incident,
  input: { resolution: Resolution; actor: string },
): Promise<{ report: IncidentReport; markdown: string; key: string }> {
  requireOpen(incident);
  const problems = Object.entries(input.resolution).filter(([, v]) => v.length > 3000).map(([k]) => `${k}: at most 3000 characters`);
  if (problems.length > 0) throw new BantayError(ErrorCode.InvalidInput, 'The resolution is too long', { details: problems });
  const resolvedAt = deps.now?.() ?? new Date();
  // This process and this call: two resolves in one bot process race too.
  const owner = `${ownerToken()}|${randomBytes(4).toString('hex')}`;
  if (!(await claimResolve(deps.state, incident.id, owner, resolvedAt))) {
    throw new BantayError(ErrorCode.InvalidInput, 'Someone else is resolving this incident right now, or it was just resolved: its report is theirs');
  }
  try {
    return await writeReportAndClose(deps, incident, input, resolvedAt, owner);
  } finally {
    // Resolved: the claim is moot. Not resolved (a store failure, a running step): free to try again.
    await releaseResolve(deps.state, incident.id, owner);
  }
}

async function writeReportAndClose(
  deps: Pick<JobDeps, 'state' | 'store' | 'keyRing' | 'now'>,
  incident: Incident,
  input: { resolution: Resolution; actor: string },
  resolvedAt: Date,
  owner: string,
): Promise<{ report: IncidentReport; markdown: string; key: string }> {
  const events = await incidentEvents(deps.state, incident.id);
  // A report written while a step runs would miss its outcome, and the outcome could not be added after.
  const running = runningSteps(events);
  if (running.length > 0) {
    throw new BantayError(ErrorCode.InvalidInput, `Step ${running.join(', ')} is still running (or waits for approval): resolve when it has finished`, {
      details: ['A step whose Bantay process was killed is closed as abandoned when Bantay next starts.', 'An approval request that is not wanted any more can be rejected.'],
    });
  }
  const audit = await auditFacts(deps, incident.declaredAt, resolvedAt);
  const backupTimes = await backupTimesOf(deps, audit);
  const report = buildIncidentReport({ incident, events, audit, backupTimes, resolution: input.resolution, resolvedAt, resolvedBy: input.actor });
  const markdown = renderIncidentReport(report);
  // A claim taken over while this resolve was slow (see claimResolve) means another one writes the report.
  if (!(await holdsResolve(deps.state, incident.id, owner))) throw new BantayError(ErrorCode.InvalidInput, 'Someone else took over resolving this incident; its report is theirs');
  const key = await writeIncidentReport(deps.store, report, markdown, { keyRing: deps.keyRing, state: deps.state });
  await closeIncident(deps.state, incident, input.actor, resolvedAt, key, `Resolved; recovery report stored as ${key}`);
  await recordAudit(deps.state, { operationType: 'incident', status: 'succeeded', performedBy: input.actor, filePath: key, details: { incident: incident.id, step: 'resolved', dataLoss: report.dataLoss.state, withinObjective: report.timeToRecovery.withinObjective } });
  return { report, markdown, key };
}

export async function auditFacts(deps: Pick<JobDeps, 'state'>, from: Date, to: Date): Promise<AuditFact[]> {
  const rows = await selectAuditBetween(deps.state, from, to);
  return rows
    .filter((r) => r.operationType !== 'incident')
    .map((r) => ({ ...r, details: (typeof r.details === 'string' ? JSON.parse(r.details) : (r.details ?? {})) as Record<string, unknown> }));
}

/** createdAt of every backup the audit rows name, read from the catalog (authenticated); unreadable ones stay unknown. */
async function backupTimesOf(deps: Pick<JobDeps, 'store' | 'keyRing' | 'state'>, audit: readonly AuditFact[]): Promise<Map<string, string>> {
  const times = new Map<string, string>();
  for (const id of new Set(audit.flatMap((a) => (a.backupId ? [a.backupId] : [])))) {
    const entry = await catalogEntry(deps.store, { keyRing: deps.keyRing, state: deps.state }, id).catch(() => undefined);
    if (entry?.status === 'listed') times.set(id, entry.manifest.createdAt);
  }
  return times;
}
