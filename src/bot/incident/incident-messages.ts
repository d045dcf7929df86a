import type { IncidentReport } from '../../catalog/incident-report.ts';
import { formatDuration } from '../../format/units.ts';
import type { Incident, IncidentEvent, RunbookStep } from '../../jobs/incident/model.ts';
import { SEVERITY_TEXT } from '../../jobs/incident/model.ts';
import { runningSteps } from '../../jobs/incident/incidents.ts';
import { actions, button, context, escape, header, section, slackDate, truncate, type Block, type SlackMessage } from '../messages/blocks.ts';
import { mentionOf } from '../messages/mentions.ts';
import { IncidentIds } from './incident-ids.ts';

/** Who an actor is in Slack: a mention for slack:U…, the name otherwise. */
export function actorText(actor: string): string {
  const id = actor.replace(/^slack:/, '');
  return mentionOf(id) ?? escape(id.replace(/^cli:/, ''));
}

/** Steps Slack can run: all of them (point-in-time and secondary restores into a new database only; README, "Incident mode"). */
export const SLACK_RUNNABLE = new Set(['stop-app', 'start-app', 'emergency-backup', 'restore-latest', 'restore-pitr', 'verify-restored', 'restore-files', 'restore-secondary']);

/** The headline in the channel: status, scenario, commander, time against the objective. */
export function buildHeadline(i: Incident, now: Date, oncallMentions = ''): SlackMessage {
  const elapsed = ((i.resolvedAt ?? now).getTime() - i.declaredAt.getTime()) / 1000;
  const over = elapsed > i.objectiveSeconds;
  const status = i.resolvedAt ? 'RESOLVED' : i.status.toUpperCase();
  const deadline = new Date(i.declaredAt.getTime() + i.objectiveSeconds * 1000);
  return {
    text: `${oncallMentions ? `${oncallMentions} ` : ''}Incident ${status}: ${escape(i.title)}: ${escape(truncate(i.summary, 200))}`,
    blocks: [
      header(`${i.resolvedAt ? ':white_check_mark:' : ':rotating_light:'} ${i.title}: ${status}`),
      section(`${oncallMentions ? `${oncallMentions} ` : ''}*${escape(truncate(i.summary, 500))}*`),
      section(
        [
          `*Commander:* ${actorText(i.commander)}`,
          `*Severity:* ${SEVERITY_TEXT[i.severity]}`,
          `*Detected:* ${slackDate(i.detectedAt)} · *declared* ${slackDate(i.declaredAt)} by ${actorText(i.declaredBy)}`,
          `*Time:* ${formatDuration(elapsed)} of the ${formatDuration(i.objectiveSeconds)} objective${over ? ' :warning: *over*' : ` (due ${slackDate(deadline, '{time}')})`}`,
        ].join('\n'),
      ),
      context(`Checklist, notes and updates are in the thread · /incident note, /incident update, /incident commander, /incident resolve · incident ${i.id}`),
    ],
  };
}

/** The runbook as a checklist: one line per step, and buttons for the steps not done yet. */
export function buildChecklist(i: Incident, events: readonly IncidentEvent[]): SlackMessage {
  const doneBy = new Map<number, IncidentEvent>();
  for (const e of events) if (e.kind === 'step-done' && typeof e.details.step === 'number' && !doneBy.has(e.details.step)) doneBy.set(e.details.step, e);
  const running = new Set(runningSteps(events));
  const lines = i.steps.map((step) => lineOf(step, doneBy.get(step.number), running.has(step.number)));
  const blocks: Block[] = [section(`*Runbook: ${escape(i.title)}*\n${truncate(lines.join('\n'), 2900)}`)];
  if (i.resolvedAt === null) {
    for (const step of i.steps) {
      if (doneBy.has(step.number) || blocks.length >= 48) continue;
      const buttons = [button(`Mark ${step.number} done`, `${IncidentIds.donePrefix}${step.number}`, `${i.id}:${step.number}`)];
      if (step.action && SLACK_RUNNABLE.has(step.action)) buttons.unshift(button(`Run step ${step.number}`, `${IncidentIds.runPrefix}${step.number}`, `${i.id}:${step.number}`, 'primary'));
      blocks.push(actions(`incident_step_${step.number}`, buttons));
    }
  }
  return { text: `Checklist of ${escape(i.title)}: ${doneBy.size} of ${i.steps.length} steps done`, blocks };
}

function lineOf(step: RunbookStep, done: IncidentEvent | undefined, running: boolean): string {
  const mark = done ? ':white_check_mark:' : running ? ':hourglass_flowing_sand:' : ':white_large_square:';
  const how = step.action && !SLACK_RUNNABLE.has(step.action) && !done ? ' _(Bantay does this from its console; mark it done after)_' : '';
  return `${mark} ${step.number}. ${escape(truncate(step.text, 200))}${how}${done ? ` · ${actorText(done.actor)} ${slackDate(done.at, '{time}')}` : ''}`;
}

/** The recovery report in the thread: its sections as mrkdwn, within Block Kit's limits. */
export function buildReportMessage(r: IncidentReport, markdown: string): SlackMessage {
  const chunks: string[] = [];
  let current = '';
  for (const line of markdown.split('\n').map((l) => l.replace(/^#{1,3} (.*)$/, '*$1*'))) {
    if (current.length + line.length + 1 > 2900) {
      chunks.push(current);
      current = '';
    }
    current += `${escape(truncate(line, 2900))}\n`;
  }
  if (current.trim() !== '') chunks.push(current);
  const blocks = chunks.slice(0, 45).map((c) => section(c));
  if (chunks.length > 45) blocks.push(context('The report is longer than one Slack message: the whole of it is in the store.'));
  return {
    text: `Recovery report of ${escape(r.details.title)}: time to recovery ${formatDuration(r.timeToRecovery.seconds)} (${r.timeToRecovery.withinObjective ? 'objective met' : 'objective MISSED'}); data loss: ${r.dataLoss.text}`,
    blocks,
  };
}
