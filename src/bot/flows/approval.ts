import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { recordAudit } from '../../state/audit-log.ts';
import { claimRequest, createApproval, decideApproval, expireApprovals, getApproval, pruneRequests, setApprovalMessage, type Approval } from '../approval-store.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { authorize, busyText, refusalFor, replyEphemeral } from '../commands/common.ts';
import type { ViewArgs } from '../commands/start-job.ts';
import { errorToText } from '../errors-to-text.ts';
import { parseJobSpec, type BotJobSpec } from '../job-spec.ts';
import { buildApprovalDecidedMessage, buildApprovalDecisionNotice, buildApprovalRequestMessage, type ApprovalBackupFacts } from '../messages/approval-message.ts';
import { mentionAll } from '../messages/mentions.ts';
import { mention } from '../messages/blocks.ts';
import { buildNoticeView } from '../messages/modal.ts';
import type { BotServices } from '../services.ts';
import { slackErrorOf } from '../slack-api.ts';
import { getIncident, openIncidents } from '../../jobs/incident/incidents.ts';
import type { Incident } from '../../jobs/incident/model.ts';
import { actorText } from '../incident/incident-messages.ts';
import { endUnapprovedStep, followApprovedStep, type ApprovalStep } from '../incident/incident-step-runs.ts';

export type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** How a request is answered in its modal: a notice replacing the form, or nothing (a retried submission). */
export type ModalAnswer = (notice?: { title: string; text: string }) => Promise<void>;

/** Answers a view submission by its ack (the restore form, which answers within 3 s). */
export function answerByAck(args: ViewArgs): ModalAnswer {
  return async (notice) => void (await args.ack(notice ? { response_action: 'update', view: buildNoticeView(notice.title, notice.text) as never } : undefined));
}

export interface ApprovalRequest {
  userId: string;
  spec: Extract<BotJobSpec, { type: 'restore' }>;
  entry: CatalogEntry;
  requestId: string;
  /** The caller claimed the request id already (incident steps claim theirs before planning). */
  claimed?: boolean;
  /** The incident step this restore is, so its approval, rejection or expiry ends the step. */
  incidentStep?: ApprovalStep;
}

/**
 * Two-person approval of in-place restores. The request is a row in the state database and a
 * message in the incidents channel; every decision is one conditional UPDATE (see
 * approval-store.ts), so double clicks, Slack retries and racing approvers start one job.
 */
export async function requestInPlaceApproval(s: BotServices, answer: ModalAnswer, r: ApprovalRequest): Promise<void> {
  const { userId, spec, entry } = r;
  if (r.claimed !== true && !(await claimRequest(s.state, r.requestId, 'approval', `slack:${userId}`))) return answer();
  const busy = s.runner.busyWith(spec);
  if (busy) {
    if (r.incidentStep) await endUnapprovedStep(s, { incidentStep: r.incidentStep, spec, backup: { kind: entry.manifest.kind, createdAt: entry.manifest.createdAt } }, userId, busyText(busy));
    return answer({ title: 'Already running', text: busyText(busy) });
  }
  const m = entry.manifest;
  const backup: ApprovalBackupFacts = {
    id: m.id,
    kind: m.kind,
    createdAt: m.createdAt,
    sizeBytes: m.artifact.sizeBytes,
    encrypted: m.artifact.encryption !== null,
    ...(m.source.database !== undefined ? { database: m.source.database } : {}),
    verification: entry.verification ? { passed: entry.verification.passed, at: entry.verification.verifiedAt } : null,
  };
  const approval = await createApproval(s.state, {
    kind: 'restore-in-place',
    payload: { spec, backup, live: s.jobs.live(m.kind)?.what ?? `the live ${m.kind}`, ...(r.incidentStep ? { incidentStep: r.incidentStep } : {}) },
    requestedBy: userId,
    reason: spec.reason,
    ttlSeconds: s.settings.approvalTtlSeconds,
    now: s.now(),
  });
  await audit(s, approval, 'requested', userId);
  // During an incident the request says so and also pings its commander: the step's own
  // incident when it is one, else the open one.
  const incident = r.incidentStep ? await getIncident(s.state, r.incidentStep.incidentId).catch(() => undefined) : (await openIncidents(s.state).catch(() => []))[0];
  // Slack must have its answer within 3 seconds: wait for the post at most 2, then let it finish on its own.
  const posting = s.chat
    .postMessage({ channel: s.settings.channel, ...buildApprovalRequestMessage(approval, s.now(), mentionAll([...s.settings.approvers.filter((a) => a !== userId), ...commanderOf(incident)]), incident && { title: incident.title, commander: actorText(incident.commander) }) })
    .then(async ({ ts, channel }) => {
      await setApprovalMessage(s.state, approval.id, channel, ts);
      return 'posted' as const;
    })
    .catch(async (err: unknown) => {
      // Nobody can approve what nobody sees: withdraw it rather than leave it waiting.
      s.logger.error({ error: slackErrorOf(err), approvalId: approval.id }, 'could not post the approval request; withdrawn');
      const withdrawn = await decideApproval(s.state, approval.id, 'rejected', 'bantay', s.now()).catch(() => undefined);
      if (withdrawn) {
        await audit(s, withdrawn, 'rejected', 'bantay', { reason: `the request could not be posted in Slack (${slackErrorOf(err)})` });
        await endUnapprovedStep(s, withdrawn.payload, withdrawn.requestedBy, 'the approval request could not be posted in Slack, so it was withdrawn');
      }
      return 'failed' as const;
    });
  const posted = await Promise.race([posting, new Promise<'slow'>((res) => setTimeout(() => res('slow'), 2000).unref())]);
  const minutes = Math.max(1, Math.round(s.settings.approvalTtlSeconds / 60));
  const text = {
    posted: `:raised_hand: Approval requested in <#${s.settings.channel}>. A different approver must approve within ${minutes} min; nothing happens until then.`,
    slow: `:raised_hand: Approval requested (\`${approval.id}\`); Slack is slow, so the request may take a moment to appear in <#${s.settings.channel}>. A different approver must approve within ${minutes} min.`,
    failed: `:warning: The approval request could not be posted in <#${s.settings.channel}> (Slack error), so it was withdrawn and nothing will happen. Try again in a minute.`,
  }[posted];
  await answer({ title: 'Approval requested', text });
  s.home.refresh();
}

/** Approve: an approver who is not the requester; starts the restore exactly once. */
export function handleApproveAction(s: BotServices) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    const id = (args.action as ButtonAction).value ?? '';
    try {
      if (!(await authorize(s, userId, 'approver', { operationType: 'approval', what: 'approve in-place restores' }, args.respond))) return;
      const current = await checkDecidable(s, args, id, userId);
      if (current === undefined) return;
      if (current.requestedBy === userId) {
        await audit(s, current, 'refused', userId, { reason: 'self-approval' });
        return replyEphemeral(args.respond, ':no_entry: You asked for this restore, so a *different* approver must approve it (two-person rule). This attempt was logged.');
      }
      const spec = { ...parseJobSpec(current.payload.spec), approvalId: id } as BotJobSpec;
      const refusal = refusalFor(s, spec);
      if (refusal !== undefined) return replyEphemeral(args.respond, `${refusal}\nThe request stays open: approve it again once that has finished.`);
      const decided = await decideApproval(s.state, id, 'approved', userId, s.now());
      if (decided === undefined) return replyEphemeral(args.respond, decidedText(await getApproval(s.state, id)));
      await audit(s, decided, 'approved', userId);
      const outcome = s.runner.start(spec, decided.requestedBy, { approvedBy: userId });
      if (outcome.started) await followApprovedStep(s, decided.payload, decided.requestedBy, userId, outcome.done).catch((err: unknown) => s.logger.error({ err, approvalId: id }, 'could not follow the incident step of an approval'));
      else await endUnapprovedStep(s, decided.payload, decided.requestedBy, `approved, but ${outcome.running.title} was running, so it did not start`);
      await updateApprovalMessage(s, decided, outcome.started ? undefined : `Approved, but it could not start: ${outcome.running.title} is running. Ask again with /restore when it has finished.`);
      s.home.refresh();
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { approvalId: id, userId })).catch(() => undefined);
    }
  };
}

/** Reject: any approver, or the requester withdrawing their own request. */
export function handleRejectAction(s: BotServices) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    const id = (args.action as ButtonAction).value ?? '';
    try {
      const current = await getApproval(s.state, id);
      if (current?.requestedBy !== userId && !(await authorize(s, userId, 'approver', { operationType: 'approval', what: 'reject in-place restores' }, args.respond))) return;
      if ((await checkDecidable(s, args, id, userId)) === undefined) return;
      const decided = await decideApproval(s.state, id, 'rejected', userId, s.now());
      if (decided === undefined) return replyEphemeral(args.respond, decidedText(await getApproval(s.state, id)));
      await audit(s, decided, 'rejected', userId);
      await endUnapprovedStep(s, decided.payload, decided.requestedBy, decided.requestedBy === userId ? 'the requester withdrew the approval request' : 'the in-place restore was rejected');
      await updateApprovalMessage(s, decided);
      s.home.refresh();
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { approvalId: id, userId })).catch(() => undefined);
    }
  };
}

/** The pending request, or undefined after telling the clicker why it cannot be decided. */
async function checkDecidable(s: BotServices, args: ActionArgs, id: string, userId: string): Promise<Approval | undefined> {
  const current = await getApproval(s.state, id);
  if (current === undefined || current.status !== 'pending') {
    await replyEphemeral(args.respond, decidedText(current));
    return undefined;
  }
  if (current.expiresAt.getTime() <= s.now().getTime()) {
    await expireDueApprovals(s);
    await audit(s, current, 'refused', userId, { reason: 'expired' });
    await replyEphemeral(args.respond, ':hourglass: This request has expired, so nothing will happen. Ask again with `/restore`.');
    return undefined;
  }
  return current;
}

function decidedText(a: Approval | undefined): string {
  if (a === undefined) return 'This approval request does not exist (any more).';
  if (a.status === 'expired') return ':hourglass: This request has expired. Ask again with `/restore`.';
  return `This request was already ${a.status} by ${mention(a.decidedBy ?? '?')}. Nothing more to do.`;
}

/** Marks overdue requests expired and says so on their messages; run by a timer and on click. */
export async function expireDueApprovals(s: BotServices): Promise<Approval[]> {
  const expired = await expireApprovals(s.state, s.now());
  for (const a of expired) {
    await audit(s, a, 'expired', 'bantay');
    await endUnapprovedStep(s, a.payload, a.requestedBy, 'nobody approved the in-place restore in time (the request expired)');
    await updateApprovalMessage(s, a);
  }
  if (expired.length > 0) s.home.refresh();
  return expired;
}

export function startApprovalExpiry(s: BotServices): () => void {
  let ticks = 0;
  const timer = setInterval(() => {
    expireDueApprovals(s).catch((err: unknown) => s.logger.warn({ err }, 'approval expiry check failed'));
    // bot_requests only has to outlive Slack's retries; without pruning it grows forever.
    if (ticks++ % 240 === 0) pruneRequests(s.state, s.now()).catch((err: unknown) => s.logger.warn({ err }, 'pruning old request ids failed'));
  }, s.settings.expiryCheckMs ?? 15_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Updates the request in place (no buttons left) and posts the decision in its thread, which notifies. */
async function updateApprovalMessage(s: BotServices, a: Approval, note?: string): Promise<void> {
  if (a.channel === null || a.messageTs === null) return;
  await s.chat
    .update({ channel: a.channel, ts: a.messageTs, ...buildApprovalDecidedMessage(a, s.now(), note) })
    .catch((err: unknown) => s.logger.warn({ error: slackErrorOf(err), approvalId: a.id }, 'could not update the approval message'));
  const oncall = a.status === 'approved' ? [] : (s.settings.oncall ?? []);
  await s.chat
    .postMessage({ channel: a.channel, thread_ts: a.messageTs, ...buildApprovalDecisionNotice(a, mentionAll([a.requestedBy, ...oncall])) })
    .catch((err: unknown) => s.logger.warn({ error: slackErrorOf(err), approvalId: a.id }, 'could not post the approval decision in its thread'));
}

async function audit(s: BotServices, a: Approval, status: string, by: string, extra: Record<string, unknown> = {}): Promise<void> {
  const spec = a.payload.spec as { backup?: string } | undefined;
  await recordAudit(s.state, {
    operationType: 'approval',
    backupType: 'database',
    status,
    performedBy: by === 'bantay' ? 'bantay' : `slack:${by}`,
    backupId: spec?.backup,
    details: { approvalId: a.id, kind: a.kind, requestedBy: `slack:${a.requestedBy}`, reason: a.reason, ...extra },
  }).catch((err: unknown) => s.logger.error({ err }, 'could not audit an approval step'));
}

function commanderOf(incident: Incident | undefined): string[] {
  const id = incident?.commander.replace(/^slack:/, '');
  return id && /^[UW][A-Z0-9]+$/.test(id) ? [id] : [];
}
