import { BantayError, ErrorCode } from '../../errors.ts';
import {
  insertIncident,
  insertIncidentEvent,
  markIncidentResolved,
  selectIncident,
  selectIncidentEvents,
  selectIncidents,
  selectOpenIncidents,
  updateIncident,
  type IncidentEventRow,
  type IncidentRow,
} from '../../state/incidents.ts';
import type { Queryable } from '../../state/state-types.ts';
import { newIncidentId, parseIncidentId } from './ids.ts';
import { SCENARIO_PATTERN, SEVERITIES, STATUSES, type EventKind, type Incident, type IncidentEvent, type IncidentStatus, type Runbook, type RunbookStep, type Severity } from './model.ts';
import { checkPublicText } from './public-text.ts';

/**
 * Incident mode's operations on the state database. Every change is an event with its actor
 * and time: the timeline is the events plus the audit log (timeline.ts). Authorisation is the
 * caller's surface's (operators in Slack, the OS user on the console); the rules that hold
 * whoever calls are here: one open incident per scope unless declared as concurrent, no change
 * to a resolved incident, a step done once, public text checked.
 */
export interface DeclareInput {
  runbook: Runbook;
  severity: Severity;
  summary: string;
  detectedAt: Date;
  declaredBy: string;
  commander?: string;
  /** One open incident per scope; "default" unless the operator names another. */
  scope?: string;
  /** Declare even when an incident is open in the scope. */
  concurrent?: boolean;
  now?: Date;
}

export async function declareIncident(db: Queryable, input: DeclareInput): Promise<Incident> {
  const now = input.now ?? new Date();
  const scope = input.scope ?? 'default';
  const problems = declareProblems(input, scope, now);
  if (problems.length > 0) throw new BantayError(ErrorCode.InvalidInput, 'The incident cannot be declared', { details: problems });
  if (!input.concurrent) {
    const [open] = await selectOpenIncidents(db, scope);
    if (open) throw alreadyOpen(fromRow(open));
  }
  const row = {
    id: newIncidentId(now),
    scope,
    exclusive: input.concurrent !== true,
    scenario: input.runbook.scenario,
    title: input.runbook.title,
    severity: input.severity,
    summary: input.summary.trim(),
    detectedAt: input.detectedAt,
    declaredAt: now,
    declaredBy: input.declaredBy,
    commander: input.commander ?? input.declaredBy,
    status: 'investigating',
    objectiveSeconds: input.runbook.objectiveSeconds,
    steps: input.runbook.steps,
  };
  try {
    await insertIncident(db, row);
  } catch (err) {
    // The partial unique index: another declare won the race.
    if ((err as { code?: string }).code === '23505') {
      const [open] = await selectOpenIncidents(db, scope);
      if (open) throw alreadyOpen(fromRow(open));
    }
    throw err;
  }
  await addEvent(db, row.id, 'declared', input.declaredBy, `Declared: ${row.summary}`, { scenario: row.scenario, severity: row.severity, detectedAt: row.detectedAt.toISOString(), commander: row.commander }, now);
  return (await getIncident(db, row.id))!;
}

function declareProblems(input: DeclareInput, scope: string, now: Date): string[] {
  const problems: string[] = [];
  if (!SEVERITIES.includes(input.severity)) problems.push(`Severity: must be one of ${SEVERITIES.join(', ')}`);
  if (input.summary.trim().length === 0 || input.summary.length > 500) problems.push('Summary: 1 to 500 characters');
  if (Number.isNaN(input.detectedAt.getTime())) problems.push('Detected at: not a time');
  else if (input.detectedAt.getTime() > now.getTime() + 60_000) problems.push('Detected at: is in the future');
  else if (now.getTime() - input.detectedAt.getTime() > 30 * 86_400_000) problems.push('Detected at: more than 30 days ago');
  if (!SCENARIO_PATTERN.test(scope)) problems.push('Scope: lower-case words joined by hyphens');
  return problems;
}

function alreadyOpen(open: Incident): BantayError {
  return new BantayError(ErrorCode.InvalidInput, `An incident is already open: ${open.title}, declared ${open.declaredAt.toISOString()} (${open.id})`, {
    details: ['Add to it instead, resolve it first, or declare a separate one explicitly as concurrent'],
  });
}

export async function getIncident(db: Queryable, id: string): Promise<Incident | undefined> {
  const row = await selectIncident(db, parseIncidentId(id));
  return row && fromRow(row);
}

export async function requireIncident(db: Queryable, id: string): Promise<Incident> {
  const incident = await getIncident(db, id);
  if (!incident) throw new BantayError(ErrorCode.NotFound, 'There is no such incident (see bantay incident list)');
  return incident;
}

export async function openIncidents(db: Queryable): Promise<Incident[]> {
  return (await selectOpenIncidents(db)).map(fromRow);
}

/**
 * The incident a command without an id means: the only open one. None or several open is an
 * error that says what to do.
 */
export async function currentIncident(db: Queryable): Promise<Incident> {
  const open = await openIncidents(db);
  if (open.length === 1) return open[0]!;
  if (open.length === 0) throw new BantayError(ErrorCode.NotFound, 'No incident is open (declare one first)');
  throw new BantayError(ErrorCode.InvalidInput, `${open.length} incidents are open: name one`, { details: open.map((i) => `${i.id}: ${i.title}`) });
}

export async function listIncidents(db: Queryable, limit = 20): Promise<Incident[]> {
  return (await selectIncidents(db, limit)).map(fromRow);
}

export async function incidentEvents(db: Queryable, id: string): Promise<IncidentEvent[]> {
  return (await selectIncidentEvents(db, id)).map(eventFromRow);
}

export async function addNote(db: Queryable, incident: Incident, actor: string, text: string): Promise<void> {
  requireOpen(incident);
  const note = text.trim();
  if (note.length === 0 || note.length > 2000) throw new BantayError(ErrorCode.InvalidInput, 'A note is 1 to 2000 characters');
  await addEvent(db, incident.id, 'note', actor, note, {});
}

export async function handOver(db: Queryable, incident: Incident, actor: string, commander: string): Promise<Incident> {
  requireOpen(incident);
  if (commander === incident.commander) throw new BantayError(ErrorCode.InvalidInput, 'That person is already the incident commander');
  await updateIncident(db, incident.id, { commander });
  await addEvent(db, incident.id, 'commander', actor, `Commander handed over to ${commander}`, { from: incident.commander, to: commander });
  return (await getIncident(db, incident.id))!;
}

/** Marks a step done by people (or after the console did it); each step once. */
export async function markStepDone(db: Queryable, incident: Incident, stepNumber: number, actor: string, note?: string): Promise<RunbookStep> {
  requireOpen(incident);
  const step = requireStep(incident, stepNumber);
  const done = (await incidentEvents(db, incident.id)).find((e) => e.kind === 'step-done' && e.details.step === step.number);
  if (done) throw new BantayError(ErrorCode.InvalidInput, `Step ${step.number} was already marked done by ${done.actor} at ${done.at.toISOString()}`);
  try {
    await addEvent(db, incident.id, 'step-done', actor, `Step ${step.number} done: ${step.text}${note ? ` (${note.slice(0, 300)})` : ''}`, { step: step.number });
  } catch (err) {
    // Two clicks at once: the unique index lets one through (migration 25).
    if ((err as { code?: string }).code === '23505') throw new BantayError(ErrorCode.InvalidInput, `Step ${step.number} was already marked done`);
    throw err;
  }
  return step;
}

export function requireStep(incident: Incident, stepNumber: number): RunbookStep {
  const step = incident.steps.find((s) => s.number === stepNumber);
  if (!step) throw new BantayError(ErrorCode.InvalidInput, `This incident's runbook has no step ${Number.isInteger(stepNumber) ? stepNumber : '?'} (it has ${incident.steps.length})`);
  return step;
}

export interface StatusUpdateInput {
  status: IncidentStatus;
  /** What users are told: public, so checked (public-text.ts). */
  publicMessage: string;
  actor: string;
  internalNames: readonly string[];
}

/** Resolves with the incident as updated and the public message as checked and stored. */
export async function postStatusUpdate(db: Queryable, incident: Incident, input: StatusUpdateInput): Promise<{ incident: Incident; message: string }> {
  requireOpen(incident);
  if (!STATUSES.includes(input.status)) throw new BantayError(ErrorCode.InvalidInput, `The status must be one of ${STATUSES.join(', ')}`);
  if (input.status === 'resolved') throw new BantayError(ErrorCode.InvalidInput, 'Resolving writes the recovery report: use resolve, not update');
  const message = checkPublicText(input.publicMessage, input.internalNames);
  await updateIncident(db, incident.id, { status: input.status });
  await addEvent(db, incident.id, 'status-update', input.actor, `Status: ${input.status}. ${message}`, { status: input.status, public: message });
  return { incident: (await getIncident(db, incident.id))!, message };
}

export async function setSlackMessages(db: Queryable, id: string, messages: { channel: string; headlineTs?: string; checklistTs?: string }): Promise<void> {
  await updateIncident(db, id, { slackChannel: messages.channel, ...(messages.headlineTs ? { slackTs: messages.headlineTs } : {}), ...(messages.checklistTs ? { slackChecklistTs: messages.checklistTs } : {}) });
}

export function requireOpen(incident: Incident): void {
  if (incident.resolvedAt !== null) throw new BantayError(ErrorCode.InvalidInput, `That incident was resolved at ${incident.resolvedAt.toISOString()}; its report is final`);
}

/** Adds an event; refused once the incident is resolved (checked in the same statement, so no race lets one in). */
export async function addEvent(db: Queryable, incidentId: string, kind: EventKind, actor: string, text: string, details: Record<string, unknown>, at: Date = new Date()): Promise<void> {
  if (!(await insertIncidentEvent(db, { incidentId, at, kind, actor, text, details }))) {
    throw new BantayError(ErrorCode.InvalidInput, 'That incident is resolved; its report is final');
  }
}

/** Marks the incident resolved, once (resolve.ts writes the report first). */
export async function closeIncident(db: Queryable, incident: Incident, actor: string, at: Date, reportKey: string, text: string): Promise<void> {
  if (!(await markIncidentResolved(db, incident.id, at, reportKey))) throw new BantayError(ErrorCode.InvalidInput, 'That incident was resolved by someone else meanwhile; its report is final');
  await addEvent(db, incident.id, 'resolved', actor, text, { reportKey }, at);
}

/** Steps started and neither finished nor marked done since (their job is running, or waits for approval), in step order. */
export function runningSteps(events: readonly IncidentEvent[]): number[] {
  // Per step, the runs started and not finished: a finish ends its own run (one without a run
  // id, from before runs were recorded, ends them all).
  const running = new Map<number, Set<string>>();
  for (const e of events) {
    const step = e.details.step;
    if (typeof step !== 'number') continue;
    const run = typeof e.details.run === 'string' ? e.details.run : undefined;
    if (e.kind === 'step-started') {
      const runs = running.get(step) ?? new Set<string>();
      runs.add(run ?? `legacy-${e.id}`);
      running.set(step, runs);
    } else if (e.kind === 'step-finished' && run !== undefined) {
      const runs = running.get(step);
      runs?.delete(run);
      // A start recorded before runs were is ended by any later finish (as closeAbandonedSteps reads it).
      for (const r of [...(runs ?? [])]) if (r.startsWith('legacy-')) runs!.delete(r);
    } else if (e.kind === 'step-finished' || e.kind === 'step-done') {
      // A step marked done by people is not running, whatever a lost process left behind.
      running.delete(step);
    }
  }
  return [...running].filter(([, runs]) => runs.size > 0).map(([step]) => step).sort((a, b) => a - b);
}

export function fromRow(row: IncidentRow): Incident {
  return {
    id: row.id,
    scenario: row.scenario,
    title: row.title,
    severity: row.severity as Severity,
    summary: row.summary,
    detectedAt: new Date(row.detectedAt),
    declaredAt: new Date(row.declaredAt),
    declaredBy: row.declaredBy,
    commander: row.commander,
    status: row.status as IncidentStatus,
    objectiveSeconds: row.objectiveSeconds,
    steps: (typeof row.steps === 'string' ? JSON.parse(row.steps) : row.steps) as RunbookStep[],
    resolvedAt: row.resolvedAt === null ? null : new Date(row.resolvedAt),
    slackChannel: row.slackChannel,
    slackTs: row.slackTs,
    slackChecklistTs: row.slackChecklistTs,
  };
}

export function eventFromRow(row: IncidentEventRow): IncidentEvent {
  return {
    id: row.id,
    incidentId: row.incidentId,
    at: new Date(row.at),
    kind: row.kind as EventKind,
    actor: row.actor,
    text: row.text,
    details: (typeof row.details === 'string' ? JSON.parse(row.details) : (row.details ?? {})) as Record<string, unknown>,
  };
}
