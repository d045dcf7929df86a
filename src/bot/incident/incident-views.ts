import { SEVERITIES, SEVERITY_TEXT, STATUSES, type Incident, type Runbook, type RunbookStep } from '../../jobs/incident/model.ts';
import { context, escape, plain, section, truncate, type Block } from '../messages/blocks.ts';
import { modal, type ModalView } from '../messages/modal.ts';
import { IncidentIds } from './incident-ids.ts';

const B = IncidentIds.block;

function textInput(blockId: string, label: string, o: { multiline?: boolean; optional?: boolean; initial?: string; hint?: string; max?: number } = {}): Block {
  return {
    type: 'input',
    block_id: blockId,
    optional: o.optional === true,
    label: plain(label),
    ...(o.hint ? { hint: plain(o.hint) } : {}),
    element: { type: 'plain_text_input', action_id: blockId, multiline: o.multiline === true, max_length: o.max ?? 3000, ...(o.initial ? { initial_value: o.initial } : {}) },
  };
}

function select(blockId: string, label: string, options: Array<{ value: string; text: string }>, initial: string | undefined): Block {
  const opts = options.map((o) => ({ text: plain(truncate(o.text, 75)), value: o.value }));
  return { type: 'input', block_id: blockId, label: plain(label), element: { type: 'static_select', action_id: blockId, options: opts, ...(initial ? { initial_option: opts.find((o) => o.value === initial) } : {}) } };
}

/** `/incident`: scenario, severity, when it was detected (now by default), summary. */
export function buildDeclareModal(runbooks: readonly Runbook[], nowText: string, timeZone: string, metadata: string): ModalView {
  return modal({
    callbackId: IncidentIds.declareView,
    title: 'Declare an incident',
    submit: 'Declare',
    metadata,
    blocks: [
      select(B.scenario, 'Scenario', runbooks.map((r) => ({ value: r.scenario, text: `${r.title} (${Math.round(r.objectiveSeconds / 360) / 10} h)` })), runbooks[0]?.scenario),
      select(B.severity, 'Severity', SEVERITIES.map((s) => ({ value: s, text: SEVERITY_TEXT[s] })), 'sev1'),
      textInput(B.detectedAt, 'Detected at', { initial: nowText, max: 40, hint: `YYYY-MM-DD HH:MM:SS (${timeZone}). Data loss is measured from this time: put when the problem started, if known.` }),
      textInput(B.summary, 'What is wrong', { multiline: true, max: 500 }),
    ],
  });
}

/** `/incident resolve`: the lessons part of the recovery report; the rest Bantay measured. */
export function buildResolveModal(i: Incident, metadata: string): ModalView {
  return modal({
    callbackId: IncidentIds.resolveView,
    title: 'Resolve the incident',
    submit: 'Resolve',
    metadata,
    blocks: [
      section(`Resolving *${escape(i.title)}* writes its recovery report: times, recovery actions, data loss and checks come from what Bantay recorded.`),
      textInput(B.impact, 'Impact (who and what was affected)', { multiline: true, optional: true }),
      textInput(B.rootCause, 'Root cause', { multiline: true }),
      textInput(B.prevention, 'Prevention', { multiline: true, optional: true }),
      textInput(B.lessons, 'Lessons learned', { multiline: true, optional: true }),
    ],
  });
}

/** "Run step N": what it will do, and for restores where to and why (in place needs a second approver). */
/** `inPlace: false`: the step restores into a new database only from Slack (point in time, secondary location). */
export function buildRunStepModal(step: RunbookStep, description: string, o: { restore: boolean; to: 'new' | 'in-place'; inPlace?: boolean; defaultName: string; metadata: string }): ModalView {
  const blocks: Block[] = [section(`*Step ${step.number}:* ${escape(truncate(step.text, 300))}\n${escape(description)}`)];
  if (o.restore) {
    const newOption = { text: plain('A new database'), value: 'new', description: plain('Safe: the live data is not touched') };
    const inPlace = { text: plain('In place of the live data'), value: 'in-place', description: plain('Needs a second approver; the current data is kept') };
    blocks.push(
      { type: 'input', block_id: B.target, label: plain('Restore into'), element: { type: 'radio_buttons', action_id: B.target, initial_option: o.to === 'in-place' && o.inPlace !== false ? inPlace : newOption, options: o.inPlace === false ? [newOption] : [newOption, inPlace] } },
      textInput(B.targetName, 'New database name', { optional: true, initial: o.defaultName, max: 63 }),
      textInput(B.reason, 'Why', { max: 500, initial: `Incident step ${step.number}` }),
    );
  }
  blocks.push(context('Every step is recorded in the incident timeline with who ran it.'));
  return modal({ callbackId: IncidentIds.runView, title: `Run step ${step.number}`, submit: 'Run', metadata: o.metadata, blocks });
}

export const UPDATE_USAGE = `/incident update ${STATUSES.filter((s) => s !== 'resolved').join('|')} <what users should be told>`;
