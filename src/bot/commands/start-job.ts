import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { claimRequest } from '../approval-store.ts';
import { parseJobSpec, type BotJobSpec } from '../job-spec.ts';
import { buildNoticeView } from '../messages/modal.ts';
import type { BotServices } from '../services.ts';
import { authorize, busyText, decodeMetadata } from './common.ts';

export type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * Starts the job a confirmed modal describes, exactly once per modal: the modal's request id
 * is claimed in the state database first, so a double submit or a Slack retry finds it taken
 * and starts nothing. The modal is then replaced by a notice saying what happened.
 */
export async function startFromSubmission(s: BotServices, args: ViewArgs, spec: BotJobSpec, requestId: string): Promise<void> {
  const userId = args.body.user.id;
  const unavailable = s.jobs.unavailable(spec);
  if (unavailable !== undefined) {
    await args.ack({ response_action: 'update', view: buildNoticeView('Not available', unavailable) as never });
    return;
  }
  if (!(await claimRequest(s.state, requestId, spec.type, `slack:${userId}`))) {
    s.logger.info({ requestId, userId }, 'duplicate submission ignored');
    await args.ack();
    return;
  }
  const outcome = s.runner.start(spec, userId);
  if (!outcome.started) {
    await args.ack({ response_action: 'update', view: buildNoticeView('Already running', busyText(outcome.running)) as never });
    return;
  }
  await args.ack({
    response_action: 'update',
    view: buildNoticeView('Started', `:arrow_forward: *${outcome.job.title}* started. Progress is posted in <#${s.settings.channel}> and updated as it runs.`) as never,
  });
}

/**
 * Checks again, at submission, that the person may do this (access may have changed since the
 * modal opened); a refusal replaces the modal with a notice and is audited.
 */
export async function authorizeSubmission(s: BotServices, args: ViewArgs, action: { operationType: string; what: string; backupId?: string }): Promise<boolean> {
  if (await authorize(s, args.body.user.id, 'operator', action, undefined)) return true;
  await args.ack({ response_action: 'update', view: buildNoticeView('Not allowed', `Only operators and approvers can ${action.what}. This attempt was logged. Ask your team lead (whoever runs Bantay) to add you if you need it.`) as never });
  return false;
}

/**
 * A confirmation modal whose metadata carries the whole job: check that the job is the kind
 * this view starts (a verify view never starts a restore, whatever its metadata says), check
 * access, then start it once.
 */
export function handleConfirmedSubmission<T extends BotJobSpec['type']>(s: BotServices, expected: T, action: { operationType: string; what: string }) {
  return async (args: ViewArgs): Promise<void> => {
    const meta = decodeMetadata(args.view.private_metadata);
    const spec = specOfView(s, args, meta.spec, expected);
    if (spec === undefined) return void (await refuseForeignSpec(args));
    if (!(await authorizeSubmission(s, args, action))) return;
    await startFromSubmission(s, args, spec, meta.requestId);
  };
}

/** The spec in a view's metadata when it is of the view's own job type; undefined (logged) otherwise. */
export function specOfView<T extends BotJobSpec['type']>(s: BotServices, args: ViewArgs, raw: unknown, expected: T): Extract<BotJobSpec, { type: T }> | undefined {
  let spec: BotJobSpec | undefined;
  try {
    spec = parseJobSpec(raw);
  } catch {
    spec = undefined;
  }
  if (spec?.type === expected) return spec as Extract<BotJobSpec, { type: T }>;
  s.logger.warn({ userId: args.body.user.id, view: args.view.callback_id, expected, got: spec?.type ?? 'invalid' }, 'refused a view submission carrying another kind of job');
  return undefined;
}

export async function refuseForeignSpec(args: ViewArgs): Promise<void> {
  await args.ack({ response_action: 'update', view: buildNoticeView('Not started', 'This form does not start that kind of job, so nothing was started.') as never });
}
