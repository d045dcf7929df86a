import { formatAge, formatBytes } from '../../format/units.ts';
import { ActionId, BlockId } from '../action-ids.ts';
import type { Approval } from '../approval-store.ts';
import { actions, button, context, escape, fields, mention, mrkdwn, plain, section, slackDate, truncate, type SlackMessage } from './blocks.ts';

/** What an approval row's payload holds about the backup, captured when it was requested. */
export interface ApprovalBackupFacts {
  id: string;
  kind: string;
  createdAt: string;
  sizeBytes: number;
  encrypted: boolean;
  /** "passed" / "failed" and when, or null when never verified. */
  verification: { passed: boolean; at: string } | null;
  /** The database the backup was taken from, as its manifest records it (database backups). */
  database?: string;
}

export function backupFactsLine(b: ApprovalBackupFacts, now: Date): string {
  const verified = b.verification === null ? ':warning: never verified' : b.verification.passed ? `verified ${formatAge(new Date(b.verification.at), now)}` : `:x: FAILED verification ${formatAge(new Date(b.verification.at), now)}`;
  return `\`${b.id}\` · ${b.kind} · ${formatAge(new Date(b.createdAt), now)} · ${formatBytes(b.sizeBytes)} · ${b.encrypted ? 'encrypted' : 'unencrypted'} · ${verified}`;
}

function common(a: Approval, now: Date, live: string) {
  const backup = a.payload.backup as ApprovalBackupFacts;
  const spec = (a.payload.spec ?? {}) as { acceptRestoreErrors?: unknown; fromOtherDatabase?: unknown };
  // What the requester asked beyond a plain restore, so the approver approves it knowingly.
  const choices = [
    ...(spec.fromOtherDatabase === true ? [`:warning: a backup of *${escape(backup.database ?? 'an unrecorded database')}*, another database than ${live}`] : []),
    ...(spec.acceptRestoreErrors === true ? [':warning: put in place even if pg_restore reports errors (the data checks must still pass)'] : []),
  ];
  return fields([
    ['Requested by', mention(a.requestedBy)],
    ['What', [`Restore over ${live} (the current one is kept under another name)`, ...choices].join('\n')],
    ['Backup', backupFactsLine(backup, now)],
    ['Why', escape(a.reason)],
  ]);
}

/**
 * The request in the channel: who, what, which backup, why, and Approve / Reject. Posting it
 * notifies the approvers (`approverMentions`: people and user groups); its notification text
 * names people through mentions, which Slack shows as names.
 */
export function buildApprovalRequestMessage(a: Approval, now: Date, approverMentions = '', incident?: { title: string; commander: string }): SlackMessage {
  const live = liveOf(a);
  const minutes = Math.max(1, Math.round((a.expiresAt.getTime() - now.getTime()) / 60_000));
  const to = approverMentions ? `${approverMentions}: ` : '';
  const approve = {
    ...button('Approve', ActionId.Approve, a.id, 'primary'),
    // The one click that replaces the live data gets Slack's own confirmation dialog.
    confirm: {
      title: plain('Replace the live data?'),
      text: mrkdwn(truncate(`This restores \`${escape(String((a.payload.spec as { backup?: string } | undefined)?.backup ?? '?'))}\` over ${live}. FBMS is down during the swap; the current data is kept under another name.`, 300)),
      confirm: plain('Approve and restore'),
      deny: plain('Cancel'),
      style: 'danger',
    },
  };
  return {
    text: `${to}approval needed: ${mention(a.requestedBy)} asks to restore over ${live}`,
    blocks: [
      section(`:warning: ${to}*Approval needed: in-place restore* of ${live}`),
      common(a, now, live),
      context(`Expires ${slackDate(a.expiresAt, '{time}')} (in ${minutes} min) · only an approver other than ${mention(a.requestedBy)} can approve · request \`${a.id}\``),
      ...(incident ? [context(`:rotating_light: During the incident *${escape(incident.title)}* · commander ${incident.commander}`)] : []),
      actions(BlockId.ApprovalActions, [approve, button('Reject', ActionId.Reject, a.id, 'danger')]),
    ],
  };
}

/** The thread reply that tells the requester (and on-call) what was decided: edits notify nobody. */
export function buildApprovalDecisionNotice(a: Approval, mentions: string): SlackMessage {
  const lead = mentions ? `${mentions} ` : '';
  const what =
    a.status === 'approved'
      ? `approved by ${mention(a.decidedBy ?? '?')}; the restore is starting.`
      : a.status === 'rejected'
        ? `${a.decidedBy === a.requestedBy ? 'withdrawn' : 'rejected'} by ${mention(a.decidedBy ?? '?')}; nothing was changed.`
        : 'expired without a decision; nothing was changed. Ask again with Restore… if it is still needed.';
  const text = `${lead}In-place restore ${what}`;
  return { text, blocks: [section(text)] };
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
        : `:hourglass: *Expired* ${slackDate(a.expiresAt)} without a decision. Nothing was changed.`;
  return {
    text: `In-place restore: ${a.status}`,
    blocks: [section(`*In-place restore* of ${live}`), common(a, now, live), section(outcome), ...(note ? [context(escape(note))] : []), context(`Request \`${a.id}\``)],
  };
}

/** "the live database `fbms`", as the bot described it when the request was made (escaped). */
function liveOf(a: Approval): string {
  return escape(String(a.payload.live ?? 'the live database'));
}
