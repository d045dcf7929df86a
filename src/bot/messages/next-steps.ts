import { ActionId, BlockId } from '../action-ids.ts';
import type { JobResult } from '../bot-jobs.ts';
import type { FixAction } from '../failure-kind.ts';
import type { BotJobSpec } from '../job-spec.ts';
import { actions, button, type Block } from './blocks.ts';

/**
 * The next step after a job, as buttons (people on a phone tap, they do not type ids). Values
 * are small JSON objects the action handlers validate again; nothing here is trusted later.
 */
export function resultNextSteps(spec: BotJobSpec, result: JobResult): Block | undefined {
  const buttons: Block[] = [];
  const id = result.backupId;
  if (spec.type === 'backup' && id !== undefined) {
    buttons.push(button('Verify now', ActionId.VerifyNow, JSON.stringify({ backup: id }), 'primary'));
    buttons.push(button('Restore…', ActionId.OpenRestore, JSON.stringify({ backup: id })));
  }
  if (spec.type === 'verify' && id !== undefined) {
    if (result.ok) buttons.push(button('Restore…', ActionId.OpenRestore, JSON.stringify({ backup: id })));
  }
  if (spec.type === 'restore' && spec.target.mode === 'in-place' && result.inPlace) {
    const { safetyBackupId, keptAs } = result.inPlace;
    if (safetyBackupId) buttons.push(button('Roll back', ActionId.RollBack, JSON.stringify({ backup: safetyBackupId }), 'danger'));
    if (keptAs && result.inPlace.kind === 'database') buttons.push(dropKeptButton(keptAs));
  }
  if (id !== undefined) buttons.push(button('Show details', ActionId.ShowDetails, JSON.stringify({ backup: id })));
  return buttons.length > 0 ? actions(BlockId.JobActions, buttons.slice(0, 5)) : undefined;
}

/** After a failure: Retry when it can help, otherwise the action that fixes it, if any. */
export function failureNextSteps(spec: BotJobSpec, retryable: boolean, fix: FixAction | undefined): Block | undefined {
  const buttons: Block[] = [];
  const inPlace = spec.type === 'restore' && spec.target.mode === 'in-place';
  // An in-place restore is retried through a new approval, never by one click.
  if (retryable && !inPlace && spec.type !== 'app-hook') buttons.push(button('Retry', ActionId.Retry, JSON.stringify(spec), 'primary'));
  if (retryable && inPlace) buttons.push(button('Ask again…', ActionId.OpenRestore, JSON.stringify({ backup: spec.backup, inPlace: true })));
  if (fix?.type === 'restore-another-name') buttons.push(button('Restore under another name', ActionId.RestoreAnotherName, JSON.stringify({ backup: fix.backupId }), 'primary'));
  return buttons.length > 0 ? actions(BlockId.JobActions, buttons) : undefined;
}

function dropKeptButton(keptAs: string): Block {
  return {
    ...button('Drop the kept copy', ActionId.DropKept, JSON.stringify({ database: keptAs }), 'danger'),
    confirm: {
      title: { type: 'plain_text', text: 'Drop the kept copy?' },
      text: { type: 'mrkdwn', text: `This deletes the database kept from before the restore. It holds every write made before the swap; keep it until the application works on the restored data.` },
      confirm: { type: 'plain_text', text: 'Drop it' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  };
}
