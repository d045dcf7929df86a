import { parseLabel } from '../../catalog/backup-id.ts';
import { parseFreeLabel } from '../labels.ts';
import { ActionId, BlockId } from '../action-ids.ts';
import { parseBackupArgs, resourcesOf, type BotJobSpec } from '../job-spec.ts';
import { buildBackupConfirmModal } from '../messages/confirm-modals.ts';
import { truncate } from '../messages/blocks.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, confirmContext, decodeMetadata, encodeMetadata, newRequestId, parseOrUsage, refusalFor, replyEphemeral, type CommandArgs } from './common.ts';
import { answeredHelp } from './help.ts';
import { openModalThen } from './open-modal.ts';
import { authorizeSubmission, refuseForeignSpec, specOfView, startFromSubmission, type ViewArgs } from './start-job.ts';

/** `/backup [database|application|uploads|full|emergency|pre-deploy VERSION]`: opens the confirmation. */
export function handleBackupCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text, trigger_id: triggerId, channel_id: channelId } = args.command;
      if (await answeredHelp(args, '/backup')) return;
      if (!(await authorize(s, userId, 'operator', { operationType: 'backup', what: 'run backups' }, args.respond))) return;
      const parsed = parseOrUsage(() => parseBackupArgs(text), '/backup');
      if (typeof parsed === 'string') return replyEphemeral(args.respond, parsed);
      const spec: BotJobSpec = { type: 'backup', ...parsed };
      const refusal = refusalFor(s, spec);
      if (refusal !== undefined) return replyEphemeral(args.respond, refusal);
      await openModalThen(args.client, triggerId, 'Confirm backup', async () => {
        const snapshot = await s.catalog.get(5000);
        const kind = resourcesOf(spec)[0];
        const last = snapshot?.entries.find((e) => e.manifest.kind === kind)?.manifest;
        const metadata = encodeMetadata({ requestId: newRequestId(), channelId, spec });
        return buildBackupConfirmModal(spec, s.jobs.describeBackup(spec), last, confirmContext(s, metadata));
      }, s.logger);
    });
}

/** The confirmed backup modal: validates the label and starts the job once. */
export function handleBackupSubmission(s: BotServices) {
  return async (args: ViewArgs): Promise<void> => {
    const meta = decodeMetadata(args.view.private_metadata);
    const spec = specOfView(s, args, meta.spec, 'backup');
    if (spec === undefined) return refuseForeignSpec(args);
    const labelInput = args.view.state.values[BlockId.BackupLabel]?.[ActionId.BackupLabel]?.value?.trim();
    if (labelInput) {
      try {
        spec.label = spec.variant === 'pre-deploy' ? parseLabel(labelInput) : parseFreeLabel(labelInput);
      } catch (err) {
        await args.ack({ response_action: 'errors', errors: { [BlockId.BackupLabel]: truncate((err as Error).message, 150) } });
        return;
      }
    }
    if (!(await authorizeSubmission(s, args, { operationType: 'backup', what: 'run backups' }))) return;
    await startFromSubmission(s, args, spec, meta.requestId);
  };
}
