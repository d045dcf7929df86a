import type { DrillReport } from '../../catalog/drill-report.ts';
import type { IncidentReport } from '../../catalog/incident-report.ts';
import { formatDuration } from '../../format/units.ts';

/**
 * A recovery drill in the recovery report's form, as a simulated incident ("everything is
 * lost; recover the newest backup of each kind"): the same sections, measured by the drill.
 * Data loss is the drill's RPO: how old the newest restorable database point was.
 */
export function drillAsIncidentReport(drill: DrillReport): IncidentReport {
  const slowest = Math.max(0, ...drill.items.map((i) => i.rtoSeconds ?? 0));
  const database = drill.items.find((i) => i.kind === 'database');
  const rpo = database?.rpoSeconds ?? null;
  return {
    formatVersion: 2,
    id: drill.id,
    simulated: true,
    details: {
      title: 'Recovery drill',
      scenario: 'drill',
      severity: 'simulated',
      summary: 'Simulated loss of the data: restore and verify the newest backup of each kind into scratch databases and directories',
      impact: 'None: nothing live was touched',
      detectedAt: drill.startedAt,
      declaredAt: drill.startedAt,
      declaredBy: drill.performedBy,
      commanders: [drill.performedBy],
      resolvedAt: drill.finishedAt,
      resolvedBy: drill.performedBy,
    },
    actions: {
      timeline: drill.items.map((i) => ({ at: drill.startedAt, actor: drill.performedBy, kind: `drill:${i.kind}`, text: `${i.kind} ${i.status}${i.backupId ? `: ${i.backupId}` : ''}${i.rtoSeconds !== null ? ` in ${formatDuration(i.rtoSeconds)}` : ''}` })),
      recoveries: drill.items
        .filter((i) => i.backupId !== null)
        .map((i) => ({ at: drill.startedAt, kind: i.kind === 'database' ? ('restore' as const) : i.kind === 'pitr' ? ('pitr' as const) : ('files' as const), backupId: i.backupId, target: 'scratch copy', inPlace: false, recoveredPoint: i.backupCreatedAt, status: i.status === 'passed' ? 'succeeded' : i.status })),
      steps: drill.items.map((i, n) => ({ number: n + 1, text: i.kind === 'pitr' ? 'Recover the cluster to five minutes before the drill (point in time) and check it' : `Restore and verify the newest ${i.kind} backup`, done: i.status === 'passed', doneBy: i.status === 'passed' ? drill.performedBy : null, doneAt: i.status === 'passed' ? drill.finishedAt : null })),
    },
    timeToRecovery: { seconds: Math.round(slowest), sinceDetectionSeconds: Math.round(drill.durationSeconds), objectiveSeconds: drill.objectives.rtoSeconds, withinObjective: slowest <= drill.objectives.rtoSeconds },
    dataLoss:
      rpo === null
        ? { state: 'unknown', seconds: null, recoveredPoint: null, text: 'No database backup could be restored: the recovery point is unknown.' }
        : { state: 'measured', seconds: Math.round(rpo), recoveredPoint: database?.backupCreatedAt ?? null, text: `Up to ${formatDuration(rpo)} (the drill's RPO, objective ${formatDuration(drill.objectives.rpoSeconds)}): the newest restorable database point was that old.` },
    verification: drill.items.flatMap((i) => i.checks.map((c) => ({ at: drill.finishedAt, check: `${i.kind}: ${c.name}`, backupId: i.backupId, result: c.status, detail: c.detail || null }))),
    lessons: { rootCause: 'Simulated', prevention: drill.passed ? 'The drill passed' : 'Fix the failed checks above', lessonsLearned: '' },
  };
}
