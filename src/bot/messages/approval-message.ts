import { formatAge, formatBytes } from '../../format/units.ts';
import { ActionId, BlockId } from '../action-ids.ts';
import type { Approval } from '../approval-store.ts';
import { actions, button, context, escape, fields, mention, section, slackDate, type SlackMessage } from './blocks.ts';

/** What an approval row's payload holds about the backup, captured when it was requested. */
export interface ApprovalBackupFacts {
  id: string;
  kind: string;
  createdAt: string;
  sizeBytes: number;
  encrypted: boolean;
  /** "passed" / "failed" and when, or null when never verified. */
  verification: { passed: boolean; at: string } | null;
}

export function backupFactsLine(b: ApprovalBackupFacts, now: Date): string {
  const verified = b.verification === null ? ':warning: never verified' : b.verification.passed ? `verified ${formatAge(new Date(b.verification.at), now)}` : `:x: FAILED verification ${formatAge(new Date(b.verification.at), now)}`;
  return `\`${b.id}\` · ${b.kind} · ${formatAge(new Date(b.createdAt), now)} · ${formatBytes(b.sizeBytes)} · ${b.encrypted ? 'encrypted' : 'unencrypted'} · ${verified}`;
}

function common(a: Approval, now: Date, live: string) {
  const backup = a.payload.backup as ApprovalBackupFacts;
  return fields([
    ['Requested by', mention(a.requestedBy)],
    ['What', `Restore over ${live} (the current one is kept under another name)`],
    ['Backup', backupFactsLine(backup, now)],
    ['Why', escape(a.reason)],
  ]);
}

/** The request in the channel: who, what, which backup, why, and Approve / Reject. */
export function buildApprovalRequestMessage(a: Approval, now: Date): SlackMessage {
  const live = liveOf(a);
  const minutes = Math.max(1, Math.round((a.expiresAt.getTime() - now.getTime()) / 60_000));
  return {
    text: `Approval needed: in-place restore requested by ${a.requestedBy}`,
    blocks: [
      section(`:warning: *Approval needed: in-place restore* of ${live}`),
      common(a, now, live),
      context(`Expires ${slackDate(a.expiresAt, '{time}')} (in ${minutes} min) · only an approver other than ${mention(a.requestedBy)} can approve · request \`${a.id}\``),
      actions(BlockId.ApprovalActions, [button('Approve', ActionId.Approve, a.id, 'primary'), button('Reject', ActionId.Reject, a.id, 'danger')]),
    ],
  };
}

/** The same message after the decision: no buttons, the outcome, who and when. */
export function buildApprovalDecidedMessage(a: Approval, now: Date, note?: string): SlackMessage {
  const live = liveOf(a);
  const at = a.decidedAt ?? now;
  const outcome =
    a.status === 'approved'
      ? `:white_check_mark: *Approved* by ${mention(a.decidedBy ?? '?')} ${slackDate(at)}. The restore is running; progress is in the next message.`
      : a.status === 'rejected'
        ? `:no_entry: *${a.decidedBy === a.requestedBy ? 'Withdrawn' : 'Rejected'}* by ${mention(a.decidedBy ?? '?')} ${slackDate(at)}. Nothing was changed.`
        : `:hourglass: *Expired* ${slackDate(a.expiresAt)} without a decision. Nothing was changed; run \`/restore\` again to ask again.`;
  return {
    text: `In-place restore: ${a.status}`,
    blocks: [section(`*In-place restore* of ${live}`), common(a, now, live), section(outcome), ...(note ? [context(escape(note))] : []), context(`Request \`${a.id}\``)],
  };
}

/** "the live database `fbms`", as the bot described it when the request was made (escaped). */
function liveOf(a: Approval): string {
  return escape(String(a.payload.live ?? 'the live database'));
}
