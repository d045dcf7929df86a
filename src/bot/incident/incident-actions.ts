import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { BantayError, ErrorCode } from '../../errors.ts';
import { parseIncidentId } from '../../jobs/incident/ids.ts';
import { declareIncident, incidentEvents, markStepDone, requireIncident, requireOpen, requireStep } from '../../jobs/incident/incidents.ts';
import { SEVERITIES, type Incident, type RunbookStep, type Severity } from '../../jobs/incident/model.ts';
import { resolveIncident } from '../../jobs/incident/resolve.ts';
import { loadRunbook } from '../../jobs/incident/runbooks.ts';
import { recordStepFinished, recordStepStarted } from '../../jobs/incident/step-record.ts';
import { defaultTargetDb, describePlan, planStep, type StepPlan } from '../../jobs/incident/step-plan.ts';
import { parseDatabaseName } from '../../jobs/pg/database-admin.ts';
import { parseTargetTime } from '../../jobs/pitr/target-time.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import { claimRequest } from '../approval-store.ts';
import { authorize, decodeMetadata, encodeMetadata, newRequestId, refusalFor, replyEphemeral } from '../commands/common.ts';
import { openModalThen } from '../commands/open-modal.ts';
import { authorizeSubmission, type ViewArgs } from '../commands/start-job.ts';
import { errorToText } from '../errors-to-text.ts';
import { requestInPlaceApproval, type ModalAnswer } from '../flows/approval.ts';
import type { BotJobSpec } from '../job-spec.ts';
import { escape, slackDate } from '../messages/blocks.ts';
import { buildNoticeView } from '../messages/modal.ts';
import type { BotServices } from '../services.ts';
import { incidentSettings, timeZoneOf } from './incident-command.ts';
import { IncidentIds } from './incident-ids.ts';
import { actorText, buildReportMessage, SLACK_RUNNABLE } from './incident-messages.ts';
import { followStepJob } from './incident-step-runs.ts';
import { buildRunStepModal } from './incident-views.ts';

type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;
const B = IncidentIds.block;

/**
 * A checklist button's value is "<incident id>:<step>" and its action id ends in the same
 * step: both are checked (a crafted payload naming another incident, a step that does not
 * exist or a mismatched pair is refused), and the incident and step are read again from the
 * state database; nothing else in the payload is trusted.
 */
function stepOfAction(args: ActionArgs): { incidentId: string; step: number } {
  const action = args.action as ButtonAction;
  const match = /^(inc-[^:]+):(\d{1,2})$/.exec(action.value ?? '');
  const fromId = /_(\d{1,2})$/.exec(action.action_id)?.[1];
  if (!match || fromId !== match[2]) throw new BantayError(ErrorCode.InvalidInput, 'That button does not belong to a checklist step');
  return { incidentId: parseIncidentId(match[1]!), step: Number(match[2]) };
}

export function handleStepDoneAction(s: BotServices) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    try {
      if (!(await authorize(s, userId, 'operator', { operationType: 'incident', what: 'work incident checklists' }, args.respond))) return;
      const { incidentId, step } = stepOfAction(args);
      const incident = await requireIncident(s.state, incidentId);
      const done = await markStepDone(s.state, incident, step, `slack:${userId}`);
      await s.incident.reply(incident, `:white_check_mark: Step ${done.number} done (${actorText(`slack:${userId}`)}): ${escape(done.text)}`);
      s.incident.refresh(incident.id);
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { userId, action: 'incident step done' })).catch(() => undefined);
    }
  };
}

/** "Run step N": opens at once (trigger_id), then shows what the step will do, planned from the incident. */
export function handleStepRunAction(s: BotServices) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    try {
      if (!(await authorize(s, userId, 'operator', { operationType: 'incident', what: 'run incident steps' }, args.respond))) return;
      const { incidentId, step: number } = stepOfAction(args);
      await openModalThen(args.client, args.body.trigger_id, `Run step ${number}`, async () => {
        const { incident, step, plan } = await planFor(s, incidentId, number, {});
        const newOnly = plan.kind === 'restore-pitr' || (plan.kind === 'restore' && plan.from === 'secondary');
        return buildRunStepModal(step, describePlan(plan, planTimeText(s)), {
          restore: plan.kind === 'restore' || plan.kind === 'restore-pitr',
          to: newOnly ? 'new' : plan.kind === 'restore' ? plan.to : 'new',
          inPlace: !newOnly,
          defaultName: defaultTargetDb(s.now()),
          metadata: encodeMetadata({ requestId: newRequestId(), channelId: incident.slackChannel ?? s.settings.channel, incidentId, step: number }),
        });
      }, s.logger);
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { userId, action: 'incident step run' })).catch(() => undefined);
    }
  };
}

/** Plan times as the team reads them: in BANTAY_TZ, named, to the second (modal text cannot hold Slack's date tokens everywhere). */
function planTimeText(s: BotServices): (d: Date) => string {
  const tz = timeZoneOf(s);
  return (d) => `${formatWallTime(d, tz, true)} (${tz})`;
}

async function planFor(s: BotServices, incidentId: string, number: number, overrides: { to?: 'new' | 'in-place' }): Promise<{ incident: Incident; step: RunbookStep; plan: StepPlan }> {
  const incident = await requireIncident(s.state, incidentId);
  requireOpen(incident);
  const step = requireStep(incident, number);
  if (!step.action || !SLACK_RUNNABLE.has(step.action)) throw new BantayError(ErrorCode.InvalidInput, `Step ${number} is not one Slack can run: do it by hand or from the Bantay console, then mark it done`);
  // A data center outage's step reads the secondary location's own catalog (the primary may be gone).
  const backups = step.action === 'restore-secondary' ? await s.jobs.backupsAt('secondary') : ((await s.catalog.get(10_000))?.entries ?? []).map((e) => e.manifest);
  const plan = planStep(incident, step, backups, await incidentEvents(s.state, incidentId), overrides);
  return { incident, step, plan };
}

/**
 * The Run modal's submission. Slack wants its answer within 3 s, and planning reads the catalog
 * (a big bucket can take longer): the form's own field is checked and the request claimed
 * (Slack retries run nothing twice), the modal is answered "Working…" at once, and then the
 * step is planned again from the state database and the job started (in place: an approval
 * request), the modal updated with the outcome.
 */
export function handleRunStepSubmission(s: BotServices) {
  return async (args: ViewArgs): Promise<void> => {
    const userId = args.body.user.id;
    const meta = decodeMetadata(args.view.private_metadata);
    if (!(await authorizeSubmission(s, args, { operationType: 'incident', what: 'run incident steps' }))) return;
    const values = args.view.state.values;
    const to = values[B.target]?.[B.target]?.selected_option?.value === 'in-place' ? 'in-place' : 'new';
    const nameField = values[B.targetName]?.[B.targetName];
    let name: string | undefined;
    if (nameField !== undefined && to === 'new') {
      try {
        name = parseDatabaseName((nameField.value ?? '').trim());
      } catch (err) {
        return void (await args.ack({ response_action: 'errors', errors: { [B.targetName]: (err as Error).message.slice(0, 150) } }));
      }
    }
    if (!(await claimRequest(s.state, meta.requestId, 'incident-step', `slack:${userId}`))) return void (await args.ack());
    const title = `Run step ${Number(meta.step) || '?'}`;
    await args.ack({ response_action: 'update', view: buildNoticeView(title, ':hourglass_flowing_sand: Working…') as never });
    const viewId = args.body.view.id;
    const answer: ModalAnswer = async (notice) => {
      if (notice === undefined) return;
      await args.client.views.update({ view_id: viewId, view: buildNoticeView(notice.title, notice.text) as never }).catch((err: unknown) => s.logger.warn({ err, viewId }, 'could not update the incident step modal'));
    };
    try {
      const { incident, step, plan } = await planFor(s, parseIncidentId(String(meta.incidentId)), Number(meta.step), { to });
      const actor = `slack:${userId}`;
      const reason = (values[B.reason]?.[B.reason]?.value ?? '').trim() || `Incident step ${step.number}`;
      let spec: BotJobSpec;
      if (plan.kind === 'emergency-backup') spec = { type: 'backup', variant: 'emergency' };
      else if (plan.kind === 'hook') spec = { type: 'app-hook', hook: plan.hook };
      else if (plan.kind === 'verify') {
        const restored = plan.restored === undefined ? undefined : plan.restored.to === 'in-place' ? { mode: 'in-place' as const } : { mode: 'new' as const, name: plan.restored.database };
        spec = { type: 'verify', backup: plan.backupId, ...(restored ? { restored } : {}), ...(plan.from === 'secondary' ? { from: 'secondary' as const } : {}) };
      }
      else if ((plan.kind === 'restore-pitr' || (plan.kind === 'restore' && plan.from === 'secondary')) && plan.to === 'in-place') {
        return await answer({ title: 'Not started', text: 'From Slack, this step restores into a new database only. Run it into a new database, check it, then put it in place at the Bantay console on the server.' });
      } else if (plan.kind === 'restore-pitr') {
        spec = { type: 'pitr-restore', time: plan.time.toISOString(), target: { mode: 'new', name: name ?? defaultTargetDb(s.now()) }, reason };
      } else if (plan.kind === 'restore' && plan.to === 'new') {
        spec = { type: 'restore', backup: plan.backupId, target: { mode: 'new', name: name ?? defaultTargetDb(s.now()) }, reason, ...(plan.from === 'secondary' ? { from: 'secondary' as const } : {}) };
      } else if (plan.kind === 'restore' || plan.kind === 'restore-files') {
        spec = { type: 'restore', backup: plan.backupId, target: { mode: 'in-place' }, reason: `${reason} (incident ${incident.title})` };
        const entry = (await s.catalog.get(10_000))?.entries.find((e) => e.manifest.id === plan.backupId);
        if (!entry) throw new BantayError(ErrorCode.NotFound, 'That backup is no longer in the catalog');
        const run = await recordStepStarted(s.state, incident, step, plan, actor, `${describePlan(plan, planTimeText(s))}: approval requested`, { waitsForApproval: true });
        try {
          await requestInPlaceApproval(s, answer, { userId, spec, entry, requestId: meta.requestId, claimed: true, incidentStep: { incidentId: incident.id, step: step.number, run } });
        } catch (err) {
          // No approval exists to close the step later: close it now, or it shows running until a restart.
          await recordStepFinished(s.state, incident, step, plan, actor, run, { ok: false, error: err }).catch(() => undefined);
          throw err;
        }
        s.incident.refresh(incident.id);
        return;
      } else throw new BantayError(ErrorCode.InvalidInput, 'That step cannot be run from Slack');
      const refusal = refusalFor(s, spec);
      if (refusal !== undefined) return await answer({ title: 'Not started', text: refusal });
      const run = await recordStepStarted(s.state, incident, step, plan, actor, describePlan(plan, planTimeText(s)));
      const outcome = s.runner.start(spec, userId);
      if (!outcome.started) {
        // This run's own finish: a run of the same step already going keeps running.
        await recordStepFinished(s.state, incident, step, plan, actor, run, { ok: false, error: new BantayError(ErrorCode.InvalidInput, `${outcome.running.title} was running`) });
        return await answer({ title: 'Not started', text: `${outcome.running.title} is running.` });
      }
      followStepJob(s, incident, step, plan, actor, run, outcome.done, spec.type === 'restore' || spec.type === 'pitr-restore' ? spec.target : undefined);
      await answer({ title: 'Started', text: `:arrow_forward: Step ${step.number} started; progress is in <#${s.settings.channel}>, and the checklist is updated when it ends.` });
      s.incident.refresh(incident.id);
    } catch (err) {
      await answer({ title: 'Not started', text: errorToText(err, s.logger, { userId, view: 'incident run' }) });
    }
  };
}

/** The declare modal: one incident per scope (the job layer says so), then the headline and checklist. */
export function handleDeclareSubmission(s: BotServices) {
  return async (args: ViewArgs): Promise<void> => {
    const userId = args.body.user.id;
    const meta = decodeMetadata(args.view.private_metadata);
    if (!(await authorizeSubmission(s, args, { operationType: 'incident', what: 'declare incidents' }))) return;
    const values = args.view.state.values;
    const scenario = values[B.scenario]?.[B.scenario]?.selected_option?.value ?? '';
    const severity = (values[B.severity]?.[B.severity]?.selected_option?.value ?? 'sev1') as Severity;
    const summary = values[B.summary]?.[B.summary]?.value ?? '';
    const detectedText = (values[B.detectedAt]?.[B.detectedAt]?.value ?? '').trim();
    let detectedAt: Date;
    try {
      detectedAt = parseTargetTime(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(detectedText) ? `${detectedText}:00` : detectedText, timeZoneOf(s));
    } catch {
      return void (await args.ack({ response_action: 'errors', errors: { [B.detectedAt]: 'Write it as YYYY-MM-DD HH:MM:SS' } }));
    }
    if (!SEVERITIES.includes(severity)) return void (await args.ack({ response_action: 'errors', errors: { [B.severity]: 'Pick a severity' } }));
    if (!(await claimRequest(s.state, meta.requestId, 'incident-declare', `slack:${userId}`))) return void (await args.ack());
    try {
      const runbook = await loadRunbook(incidentSettings(s).runbookDir, scenario);
      const incident = await declareIncident(s.state, { runbook, severity, summary, detectedAt, declaredBy: `slack:${userId}`, now: s.now() });
      await args.ack({ response_action: 'update', view: buildNoticeView('Incident declared', `:rotating_light: *${escape(incident.title)}* is declared; its headline and checklist are in <#${s.settings.channel}>. You are the commander until you hand over.`) as never });
      await s.incident.announce(incident);
      s.home.refresh();
    } catch (err) {
      await args.ack({ response_action: 'update', view: buildNoticeView('Not declared', errorToText(err, s.logger, { userId, view: 'incident declare' })) as never }).catch(() => undefined);
    }
  };
}

/** The resolve modal: acked at once (writing the report reads the catalog), then the report in the thread. */
export function handleResolveSubmission(s: BotServices) {
  return async (args: ViewArgs): Promise<void> => {
    const userId = args.body.user.id;
    const meta = decodeMetadata(args.view.private_metadata);
    if (!(await authorizeSubmission(s, args, { operationType: 'incident', what: 'resolve incidents' }))) return;
    const v = (block: string) => (args.view.state.values[block]?.[block]?.value ?? '').trim();
    if (v(B.rootCause) === '') return void (await args.ack({ response_action: 'errors', errors: { [B.rootCause]: 'Say what caused it (you can write "not known yet")' } }));
    if (!(await claimRequest(s.state, meta.requestId, 'incident-resolve', `slack:${userId}`))) return void (await args.ack());
    await args.ack({ response_action: 'update', view: buildNoticeView('Resolving', ':memo: Writing the recovery report; it is posted in the incident thread.') as never });
    try {
      const incident = await requireIncident(s.state, parseIncidentId(String(meta.incidentId)));
      const { report, markdown } = await resolveIncident({ ...s.records, now: s.now }, incident, { actor: `slack:${userId}`, resolution: { impact: v(B.impact), rootCause: v(B.rootCause), prevention: v(B.prevention), lessonsLearned: v(B.lessons) } });
      await s.incident.reply(incident, `:white_check_mark: Resolved by ${actorText(`slack:${userId}`)} at ${slackDate(new Date(report.details.resolvedAt), '{time}')}. Recovery report:`, undefined, true);
      const message = buildReportMessage(report, markdown);
      await s.incident.reply(incident, message.text, message.blocks);
      s.incident.refresh(incident.id);
      s.home.refresh();
    } catch (err) {
      await s.chat.postMessage({ channel: s.settings.channel, text: `<@${userId}> the incident could not be resolved: ${errorToText(err, s.logger, { userId, view: 'incident resolve' })}` }).catch(() => undefined);
    }
  };
}
