import type { IncidentReport } from '../../catalog/incident-report.ts';
import { formatDuration } from '../../format/units.ts';
import type { Incident, IncidentEvent } from './model.ts';

/**
 * The recovery report, built from what was recorded (pure). Nothing in it is typed in except
 * the lessons: times come from the events, recoveries and checks from the audit log, data loss
 * is arithmetic on the detection time and the recovered point.
 */
export interface AuditFact {
  operationType: string;
  backupType: string | null;
  status: string;
  performedBy: string;
  backupId: string | null;
  errorMessage: string | null;
  createdAt: Date;
  details: Record<string, unknown>;
}

export interface Resolution {
  impact: string;
  rootCause: string;
  prevention: string;
  lessonsLearned: string;
}

export interface ReportInput {
  incident: Incident;
  events: readonly IncidentEvent[];
  audit: readonly AuditFact[];
  /** createdAt of the backups the audit names (the recovered point of a dump restore). */
  backupTimes: ReadonlyMap<string, string>;
  resolution: Resolution;
  resolvedAt: Date;
  resolvedBy: string;
  simulated?: boolean;
}

type Recovery = IncidentReport['actions']['recoveries'][number];

export function buildIncidentReport(input: ReportInput): IncidentReport {
  const { incident, events, audit, resolvedAt } = input;
  const recoveries = recoveriesOf(audit, input.backupTimes);
  const ttr = Math.round((resolvedAt.getTime() - incident.declaredAt.getTime()) / 1000);
  return {
    formatVersion: 2,
    id: incident.id,
    simulated: input.simulated === true,
    details: {
      title: incident.title,
      scenario: incident.scenario,
      severity: incident.severity,
      summary: incident.summary,
      impact: input.resolution.impact,
      detectedAt: incident.detectedAt.toISOString(),
      declaredAt: incident.declaredAt.toISOString(),
      declaredBy: incident.declaredBy,
      commanders: commandersOf(incident, events),
      resolvedAt: resolvedAt.toISOString(),
      resolvedBy: input.resolvedBy,
    },
    actions: {
      timeline: timelineOf(events, audit),
      recoveries,
      steps: incident.steps.map((step) => {
        const done = events.find((e) => e.kind === 'step-done' && e.details.step === step.number);
        return { number: step.number, text: step.text, done: done !== undefined, doneBy: done?.actor ?? null, doneAt: done?.at.toISOString() ?? null };
      }),
    },
    timeToRecovery: {
      seconds: ttr,
      sinceDetectionSeconds: Math.round((resolvedAt.getTime() - incident.detectedAt.getTime()) / 1000),
      objectiveSeconds: incident.objectiveSeconds,
      withinObjective: ttr <= incident.objectiveSeconds,
    },
    dataLoss: dataLossOf(incident.detectedAt, recoveries),
    verification: verificationOf(audit),
    lessons: { rootCause: input.resolution.rootCause, prevention: input.resolution.prevention, lessonsLearned: input.resolution.lessonsLearned },
  };
}

/** Events and audit rows in time order: the incident's own record and every job it ran. */
export function timelineOf(events: readonly IncidentEvent[], audit: readonly AuditFact[]): IncidentReport['actions']['timeline'] {
  const entries = [
    ...events.map((e) => ({ at: e.at.toISOString(), actor: e.actor, kind: e.kind, text: e.text })),
    ...audit.map((a) => ({ at: a.createdAt.toISOString(), actor: a.performedBy, kind: `audit:${a.operationType}`, text: auditText(a) })),
  ];
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}

function auditText(a: AuditFact): string {
  const step = typeof a.details.step === 'string' && a.details.step !== a.operationType ? ` (${a.details.step})` : '';
  const what = [a.operationType, a.backupType].filter(Boolean).join(' ');
  return `${what}${step} ${a.status}${a.backupId ? `: ${a.backupId}` : ''}${a.errorMessage ? ` (${a.errorMessage.slice(0, 200)})` : ''}`;
}

function commandersOf(incident: Incident, events: readonly IncidentEvent[]): string[] {
  const handovers = events.filter((e) => e.kind === 'commander').map((e) => String(e.details.to));
  const first = events.find((e) => e.kind === 'commander')?.details.from;
  return [...new Set([typeof first === 'string' ? first : incident.commander, ...handovers])];
}

/** Successful and failed restores in the window, each with the point it recovered to. */
export function recoveriesOf(audit: readonly AuditFact[], backupTimes: ReadonlyMap<string, string>): Recovery[] {
  // A point-in-time restore into a database goes through a dump of the recovered cluster: that
  // copy's own time is not the recovered point, the last replayed transaction is.
  // With no transaction replayed past the base backup, the recovered point is the base's own
  // time, never the copy's (which is when the copy was dumped, after the recovery).
  const copyPoints = new Map<string, string | null>();
  for (const a of audit) {
    if (a.operationType === 'restore' && a.backupType === 'pitr' && a.status === 'succeeded' && typeof a.details.copyBackupId === 'string') {
      const replayed = typeof a.details.lastTransactionAt === 'string' ? a.details.lastTransactionAt : null;
      copyPoints.set(a.details.copyBackupId, replayed ?? (a.backupId === null ? null : (backupTimes.get(a.backupId) ?? null)));
    }
  }
  const recoveries: Recovery[] = [];
  for (const a of audit) {
    if (!isRestoreOutcome(a)) continue;
    const target = typeof a.details.target === 'string' ? a.details.target : 'unknown';
    if (a.backupType === 'pitr') {
      recoveries.push({ at: a.createdAt.toISOString(), kind: 'pitr', backupId: a.backupId, target, inPlace: target === 'in-place', recoveredPoint: typeof a.details.lastTransactionAt === 'string' ? a.details.lastTransactionAt : null, status: a.status });
    } else if (a.backupType === 'database') {
      const inPlace = a.details.step === 'restore in place';
      const point = a.backupId === null ? null : copyPoints.has(a.backupId) ? (copyPoints.get(a.backupId) ?? null) : (backupTimes.get(a.backupId) ?? null);
      recoveries.push({ at: a.createdAt.toISOString(), kind: 'restore', backupId: a.backupId, target: inPlace ? 'live database' : target, inPlace, recoveredPoint: point, status: a.status });
    } else if (a.backupType === 'application' || a.backupType === 'uploads') {
      const point = a.backupId === null ? null : (backupTimes.get(a.backupId) ?? null);
      recoveries.push({ at: a.createdAt.toISOString(), kind: 'files', backupId: a.backupId, target, inPlace: target === 'in-place', recoveredPoint: point, status: a.status });
    }
  }
  return recoveries;
}

/**
 * The row that ends one restore: a database restore's own 'restore' or 'restore in place' step
 * (never its inner steps such as the safety backup or the swap, nor a later cleanup or a drop of
 * the kept copy), a point-in-time restore, or a files restore.
 */
function isRestoreOutcome(a: AuditFact): boolean {
  if (a.operationType !== 'restore' || (a.status !== 'succeeded' && a.status !== 'failed')) return false;
  // A drill's point-in-time recovery is checked and thrown away: not a recovery of this incident.
  if (a.details.target === 'check') return false;
  if (a.backupType === 'database') return a.details.step === 'restore' || a.details.step === 'restore in place';
  return a.backupType === 'pitr' || a.backupType === 'application' || a.backupType === 'uploads';
}

/**
 * Detection time minus the recovered point of the database recovery that counts: the last
 * one put in place, else the last into a new database (said so). "none" only when the point
 * is at or after detection; no restore means nothing was rolled back, which is not "none".
 */
export function dataLossOf(detectedAt: Date, recoveries: readonly Recovery[]): IncidentReport['dataLoss'] {
  const database = recoveries.filter((r) => r.status === 'succeeded' && r.kind !== 'files');
  const chosen = [...database].reverse().find((r) => r.inPlace) ?? database[database.length - 1];
  if (!chosen) {
    return { state: 'not-restored', seconds: null, recoveredPoint: null, text: 'The database was not restored during the incident: nothing was rolled back. Data the damage itself destroyed is not measured.' };
  }
  const where = chosen.inPlace ? 'the live database' : `the new database ${chosen.target} (not put in place)`;
  if (chosen.recoveredPoint === null) {
    return { state: 'unknown', seconds: null, recoveredPoint: null, text: `A restore into ${where} succeeded but its recovered point is not recorded: data loss is unknown.` };
  }
  // "None" only when nothing at all was rolled back; a loss under a second is "up to 1 s", not
  // rounded away (rounding made a 0.4 s loss read "at or after the detection time").
  const lostMs = detectedAt.getTime() - new Date(chosen.recoveredPoint).getTime();
  const seconds = Math.ceil(lostMs / 1000);
  if (lostMs <= 0) {
    return { state: 'none', seconds: 0, recoveredPoint: chosen.recoveredPoint, text: `None: ${where} was recovered to ${chosen.recoveredPoint}, at or after the detection time.` };
  }
  return {
    state: 'measured',
    seconds,
    recoveredPoint: chosen.recoveredPoint,
    text: `Up to ${formatDuration(seconds)}: changes committed between ${chosen.recoveredPoint} and the detection time ${detectedAt.toISOString()} are not in ${where}.`,
  };
}

function verificationOf(audit: readonly AuditFact[]): IncidentReport['verification'] {
  const checks: IncidentReport['verification'] = [];
  for (const a of audit) {
    if (a.operationType === 'verify' && a.status !== 'started') {
      const check =
        typeof a.details.database === 'string'
          ? `check of database ${a.details.database}: row counts, sequences and objects compared with the backup it was restored from`
          : 'verify: restored into a scratch database, row counts and required tables compared with the backup';
      checks.push({ at: a.createdAt.toISOString(), check, backupId: a.backupId, result: a.status, detail: a.errorMessage });
    } else if (isRestoreOutcome(a) && a.status === 'succeeded' && a.backupType !== 'pitr') {
      checks.push({ at: a.createdAt.toISOString(), check: 'restore: the copy was verified (row counts per table) before it was put in its place', backupId: a.backupId, result: 'passed', detail: null });
    } else if (isRestoreOutcome(a) && a.status === 'succeeded' && a.backupType === 'pitr') {
      checks.push({ at: a.createdAt.toISOString(), check: 'point-in-time recovery: the recovered cluster reached the target and was checked', backupId: a.backupId, result: 'passed', detail: typeof a.details.lsn === 'string' ? `LSN ${a.details.lsn}` : null });
    }
  }
  return checks;
}
