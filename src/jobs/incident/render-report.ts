import type { IncidentReport } from '../../catalog/incident-report.ts';
import { formatDuration } from '../../format/units.ts';

/** The recovery report as Markdown, in the template's order: what is stored and posted. */
export function renderIncidentReport(r: IncidentReport): string {
  const d = r.details;
  const t = r.timeToRecovery;
  const lines = [
    `# ${r.simulated ? 'Recovery drill (simulated incident)' : 'Incident recovery report'}: ${d.title}`,
    '',
    `Incident ${r.id}`,
    '',
    '## Incident details',
    `- Scenario: ${d.scenario}; severity ${d.severity}`,
    `- Summary: ${d.summary}`,
    `- Impact: ${d.impact || 'not given'}`,
    `- Detected: ${d.detectedAt}`,
    `- Declared: ${d.declaredAt} by ${d.declaredBy}`,
    `- Incident commander${d.commanders.length > 1 ? 's' : ''}: ${d.commanders.join(' → ')}`,
    `- Resolved: ${d.resolvedAt} by ${d.resolvedBy}`,
    '',
    '## Recovery actions',
    '### Backups and recovery points used',
    ...(r.actions.recoveries.length === 0
      ? ['- No restore ran during the incident.']
      : r.actions.recoveries.map((x) => `- ${x.at} ${x.kind} ${x.status}: ${x.backupId ?? 'no backup id'} → ${x.target}${x.inPlace ? ' (in place)' : ''}; recovered point ${x.recoveredPoint ?? 'unknown'}`)),
    '### Runbook steps',
    ...r.actions.steps.map((s) => `- [${s.done ? 'x' : ' '}] ${s.number}. ${s.text}${s.done ? ` (${s.doneBy}, ${s.doneAt})` : ''}`),
    '### Timeline',
    ...r.actions.timeline.map((e) => `- ${e.at} ${e.actor}: ${e.text}`),
    '',
    '## Time to recovery',
    `- ${formatDuration(t.seconds)} from declaration to resolution (${formatDuration(t.sinceDetectionSeconds)} from detection)`,
    `- Objective: ${formatDuration(t.objectiveSeconds)}: ${t.withinObjective ? 'MET' : 'MISSED'}`,
    '',
    '## Data loss',
    `- ${r.dataLoss.text}`,
    '',
    '## Verification',
    ...(r.verification.length === 0 ? ['- No verification ran during the incident.'] : r.verification.map((v) => `- ${v.at} ${v.check}${v.backupId ? ` (${v.backupId})` : ''}: ${v.result}${v.detail ? `: ${v.detail}` : ''}`)),
    '',
    '## Root cause',
    r.lessons.rootCause || 'not given',
    '',
    '## Prevention',
    r.lessons.prevention || 'not given',
    '',
    '## Lessons learned',
    r.lessons.lessonsLearned || 'not given',
    '',
  ];
  return lines.join('\n');
}
