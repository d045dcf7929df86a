import { BantayError, ErrorCode } from '../../errors.ts';
import type { Drafts } from '../../jobs/incident/drafts.ts';
import type { Incident, IncidentEvent } from '../../jobs/incident/model.ts';
import { describeTime } from '../../jobs/pitr/target-time.ts';
import { formatDuration } from '../format.ts';

/** The console's text of an incident: headline, checklist, timeline. */
export function renderIncident(incident: Incident, events: readonly IncidentEvent[], timeZone: string, now: Date = new Date()): string {
  const elapsed = ((incident.resolvedAt ?? now).getTime() - incident.declaredAt.getTime()) / 1000;
  const lines = [
    `${incident.title} (${incident.severity}): ${incident.resolvedAt ? 'RESOLVED' : incident.status.toUpperCase()}`,
    `  ${incident.summary}`,
    `  Commander: ${incident.commander}`,
    `  Detected: ${describeTime(incident.detectedAt, timeZone)}; declared ${describeTime(incident.declaredAt, timeZone)} by ${incident.declaredBy}`,
    `  Time: ${formatDuration(elapsed)} of the ${formatDuration(incident.objectiveSeconds)} objective${elapsed > incident.objectiveSeconds ? ' (OVER)' : ''}`,
    '',
    'Checklist (bantay incident run N / done N):',
  ];
  for (const step of incident.steps) {
    const done = events.find((e) => e.kind === 'step-done' && e.details.step === step.number);
    const tag = step.action ? ` [${step.action}${step.to ? ` to=${step.to}` : ''}]` : '';
    lines.push(`  [${done ? 'x' : ' '}] ${step.number}. ${step.text}${tag}${done ? `  (${done.actor}, ${describeTime(done.at, timeZone)})` : ''}`);
  }
  if (events.length > 0) {
    lines.push('', 'Timeline:');
    for (const e of events) lines.push(`  ${describeTime(e.at, timeZone)}  ${e.actor}: ${e.text}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderDrafts(d: Drafts): string {
  return [
    'Drafts to copy (public text only):',
    '', `E-mail subject: ${d.emailSubject}`, 'E-mail body:', d.emailBody,
    '', 'Social post:', d.social,
    '', 'Support reply:', d.supportReply, '',
  ].join('\n');
}

/** A commander named on the console: a Slack user id (so Slack can mention them) or a plain name. */
export function parseActor(value: string): string {
  const slack = /^<?@?([UW][A-Z0-9]{2,20})(\|[^>]*)?>?$/.exec(value.trim());
  if (slack) return `slack:${slack[1]}`;
  if (/^[A-Za-z0-9._-]{1,64}$/.test(value.trim())) return `cli:${value.trim()}`;
  throw new BantayError(ErrorCode.Usage, 'A commander is a Slack user id (U0123ABCD) or a name of letters, digits, . _ -');
}
