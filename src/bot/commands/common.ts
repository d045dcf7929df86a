import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { randomBytes } from 'node:crypto';
import { isBantayError } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import type { Role } from '../authz.ts';
import { errorToText } from '../errors-to-text.ts';
import type { RunningJob } from '../job-runner.ts';
import { USAGE, type BotJobSpec } from '../job-spec.ts';
import { escape, mention } from '../messages/blocks.ts';
import type { ConfirmContext } from '../messages/confirm-modals.ts';
import type { BotServices } from '../services.ts';

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export async function replyEphemeral(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text });
}

/**
 * Checks that `userId` may do `action`; refusals are answered privately and audited with the
 * Slack user id. Resolves with the role when allowed, undefined when refused.
 */
export async function authorize(
  s: BotServices,
  userId: string,
  need: 'operator' | 'approver',
  action: { operationType: string; what: string; backupId?: string },
  respond: RespondFn | undefined,
): Promise<Role | undefined> {
  const role = await s.authz.roleOf(userId);
  if (role === 'approver' || (need === 'operator' && role === 'operator')) return role;
  const who = need === 'approver' ? 'approvers' : 'operators and approvers';
  s.logger.warn({ userId, action: action.what, role }, 'refused: not authorised');
  await recordAudit(s.state, {
    operationType: action.operationType,
    status: 'refused',
    performedBy: `slack:${userId}`,
    backupId: action.backupId,
    details: { action: action.what, reason: `not ${need === 'approver' ? 'an approver' : 'an operator'}`, role },
  }).catch((err: unknown) => s.logger.error({ err }, 'could not audit a refusal'));
  if (respond) await replyEphemeral(respond, `:no_entry: Sorry, only ${who} can ${action.what}. This attempt was logged. Ask your team lead (whoever runs Bantay) to add you if you need it.`).catch(() => undefined);
  return undefined;
}

/** "X is running": who started it, how long ago, and a link to its message. */
export function busyText(job: RunningJob): string {
  const minutes = Math.max(0, Math.round((Date.now() - job.startedAt.getTime()) / 60_000));
  const link = job.link ? ` Follow it here: <${job.link}|progress message>.` : '';
  return `:hourglass_flowing_sand: *${escape(job.title)}* is already running (started by ${mention(job.requestedBy)} ${minutes} min ago, now *${escape(job.phase())}*). Only one job per resource runs at a time.${link}`;
}

/** Runs a slash command body after acking at once, so Slack never waits on us. */
export async function ackThen(args: CommandArgs, s: BotServices, body: () => Promise<void>): Promise<void> {
  await args.ack();
  try {
    await body();
  } catch (err) {
    await replyEphemeral(args.respond, errorToText(err, s.logger, { command: args.command.command, userId: args.command.user_id })).catch(() => undefined);
  }
}

/** What a modal carries through Slack and back: a request id for idempotency, and context. */
export interface ModalMetadata {
  requestId: string;
  channelId: string;
  [key: string]: unknown;
}

export function newRequestId(): string {
  return `req-${randomBytes(8).toString('hex')}`;
}

export function encodeMetadata(m: ModalMetadata): string {
  const text = JSON.stringify(m);
  if (text.length > 3000) throw new Error('private_metadata too long');
  return text;
}

export function decodeMetadata(text: string | undefined): ModalMetadata {
  const parsed = JSON.parse(text ?? '{}') as Partial<ModalMetadata>;
  if (typeof parsed.requestId !== 'string') throw new Error('modal metadata without a request id');
  return parsed as ModalMetadata;
}

/** Runs `parse`; a Bantay usage/input error becomes the ephemeral usage text. */
export function parseOrUsage<T>(parse: () => T, command: string): T | string {
  try {
    return parse();
  } catch (err) {
    if (!isBantayError(err)) throw err;
    return `:question: ${err.message}\n*Usage:* ${USAGE[command] ?? command}`;
  }
}

/** Why `spec` cannot start now (not available here, or its resource is busy), if so. */
export function refusalFor(s: BotServices, spec: BotJobSpec): string | undefined {
  const unavailable = s.jobs.unavailable(spec);
  if (unavailable !== undefined) return unavailable;
  const busy = s.runner.busyWith(spec);
  return busy ? busyText(busy) : undefined;
}

/** What every confirmation modal states about where the job reads and writes. */
export function confirmContext(s: BotServices, metadata: string): ConfirmContext {
  return { metadata, source: s.jobs.describeSource(), store: s.storeDescription, encrypted: s.jobs.encrypts(), now: s.now() };
}
