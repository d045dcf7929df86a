import type { ButtonAction } from '@slack/bolt';
import { parseBackupId } from '../../catalog/backup-id.ts';
import { claimRequest } from '../approval-store.ts';
import { authorize, refusalFor, replyEphemeral } from '../commands/common.ts';
import { openModalThen } from '../commands/open-modal.ts';
import { openRestoreModal } from '../commands/restore.ts';
import { errorToText } from '../errors-to-text.ts';
import { backupResult } from '../job-results.ts';
import { parseJobSpec, type BotJobSpec } from '../job-spec.ts';
import { context, escape, section } from '../messages/blocks.ts';
import { modal } from '../messages/modal.ts';
import { ViewId } from '../action-ids.ts';
import type { BotServices } from '../services.ts';
import type { ActionArgs } from './approval.ts';

/**
 * The buttons under job results (see messages/next-steps.ts). Each value is parsed and checked
 * again here; each action is authorised as the command it stands for would be.
 */
function valueOf(args: ActionArgs): Record<string, unknown> {
  const parsed = JSON.parse((args.action as ButtonAction).value ?? 'null') as unknown;
  if (parsed === null || typeof parsed !== 'object') throw new Error('button without a value');
  return parsed as Record<string, unknown>;
}

function backupOf(args: ActionArgs): string {
  return parseBackupId(String(valueOf(args).backup ?? ''));
}

function guarded(s: BotServices, name: string, body: (args: ActionArgs, userId: string) => Promise<void>) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    try {
      await body(args, userId);
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { userId, action: name })).catch(() => undefined);
    }
  };
}

/** Starts `spec` for `userId` unless something refuses it; says so privately either way. */
export async function startForButton(s: BotServices, args: ActionArgs, userId: string, spec: BotJobSpec): Promise<void> {
  const refusal = refusalFor(s, spec);
  if (refusal !== undefined) return replyEphemeral(args.respond, refusal);
  const outcome = s.runner.start(spec, userId);
  if (!outcome.started) return replyEphemeral(args.respond, refusalFor(s, spec) ?? 'Another job is running.');
  await replyEphemeral(args.respond, `:arrow_forward: *${escape(outcome.job.title)}* started; its progress is in <#${s.settings.channel}>.`);
}

/** Verify now: the backup of this message, restored into a scratch database and checked. */
export function handleVerifyNowAction(s: BotServices) {
  return guarded(s, 'verify now', async (args, userId) => {
    if (!(await authorize(s, userId, 'operator', { operationType: 'verify', what: 'verify backups' }, args.respond))) return;
    await startForButton(s, args, userId, { type: 'verify', backup: backupOf(args) });
  });
}

/** Restore…, Roll back, Restore under another name, Ask again: the restore form, pre-filled. */
export function handleOpenRestoreAction(s: BotServices, mode: 'plain' | 'rollback' | 'rename') {
  return guarded(s, `restore (${mode})`, async (args, userId) => {
    if (!(await authorize(s, userId, 'operator', { operationType: 'restore', what: 'request restores' }, args.respond))) return;
    const backup = backupOf(args);
    const inPlace = mode === 'rollback' || valueOf(args).inPlace === true;
    await openRestoreModal(s, args.body.trigger_id, args.body.channel?.id ?? s.settings.channel, {
      selectedId: backup,
      initialTarget: inPlace ? 'in-place' : 'new',
      ...(mode === 'rename' ? { initialName: `${s.jobs.liveDatabaseName() ?? 'fbms'}_restore_${Date.now().toString(36)}` } : {}),
      ...(mode === 'rollback' ? { initialReason: `Roll back the in-place restore: put back the safety backup ${backup} taken just before it.` } : {}),
    });
  });
}

/** Show details: the backup's facts in a modal, for whoever may see backups. */
export function handleShowDetailsAction(s: BotServices) {
  return guarded(s, 'show details', async (args, userId) => {
    if (!(await authorize(s, userId, 'operator', { operationType: 'list', what: 'see the backups' }, args.respond))) return;
    const backup = backupOf(args);
    await openModalThen(s.client, args.body.trigger_id, 'Backup details', async () => {
      const entry = (await s.catalog.get(10_000))?.entries.find((e) => e.manifest.id === backup);
      if (entry === undefined) return `There is no backup \`${backup}\` in ${s.storeDescription} any more.`;
      const facts = backupResult(entry.manifest);
      return modal({
        callbackId: ViewId.Details,
        title: 'Backup details',
        close: 'Close',
        blocks: [section(facts.fields.map(([k, v]) => `*${k}:* ${v}`).join('\n')), ...facts.details.slice(0, 40).map((d) => context(escape(d)))],
      });
    }, s.logger);
  });
}

/** Drop the kept copy (the button has Slack's confirm dialog): approvers only, once per message. */
export function handleDropKeptAction(s: BotServices) {
  return guarded(s, 'drop kept copy', async (args, userId) => {
    if (!(await authorize(s, userId, 'approver', { operationType: 'restore', what: 'drop the database kept by a restore' }, args.respond))) return;
    const spec = parseJobSpec({ type: 'drop-kept', database: valueOf(args).database });
    const ts = (args.body.message as { ts?: string } | undefined)?.ts ?? args.body.trigger_id;
    if (!(await claimRequest(s.state, `drop-kept:${ts}`, 'drop-kept', `slack:${userId}`))) return replyEphemeral(args.respond, 'This was already asked for; see the message below.');
    await startForButton(s, args, userId, spec);
  });
}
