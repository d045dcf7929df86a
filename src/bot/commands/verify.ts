import { parseVerifyArgs, type BotJobSpec } from '../job-spec.ts';
import { buildVerifyConfirmModal } from '../messages/confirm-modals.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, confirmContext, encodeMetadata, newRequestId, parseOrUsage, refusalFor, replyEphemeral, type CommandArgs } from './common.ts';
import { answeredHelp } from './help.ts';
import { openModalThen } from './open-modal.ts';
import { handleConfirmedSubmission } from './start-job.ts';

/** `/verify [id|latest]`: resolves "latest" now, so the confirmation names the exact backup. */
export function handleVerifyCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text, trigger_id: triggerId, channel_id: channelId } = args.command;
      if (await answeredHelp(args, '/verify')) return;
      if (!(await authorize(s, userId, 'operator', { operationType: 'verify', what: 'verify backups' }, args.respond))) return;
      const parsed = parseOrUsage(() => parseVerifyArgs(text), '/verify');
      if (typeof parsed === 'string') return replyEphemeral(args.respond, parsed);
      await openModalThen(args.client, triggerId, 'Confirm verification', async () => {
        const snapshot = await s.catalog.get(10_000);
        if (snapshot === undefined) return 'The list of backups is still loading; try again in a few seconds.';
        const entry = parsed.backup === 'latest' ? snapshot.entries.find((e) => e.manifest.kind === 'database') : snapshot.entries.find((e) => e.manifest.id === parsed.backup);
        if (entry === undefined) {
          return parsed.backup === 'latest' ? 'There is no database backup to verify yet. Take one with `/backup`.' : `There is no backup \`${parsed.backup}\` in ${s.storeDescription}. \`/backups\` lists them.`;
        }
        const spec: BotJobSpec = { type: 'verify', backup: entry.manifest.id };
        const refusal = refusalFor(s, spec);
        if (refusal !== undefined) return refusal;
        const metadata = encodeMetadata({ requestId: newRequestId(), channelId, spec });
        return buildVerifyConfirmModal(entry, confirmContext(s, metadata));
      }, s.logger);
    });
}

export function handleVerifySubmission(s: BotServices) {
  return handleConfirmedSubmission(s, 'verify', { operationType: 'verify', what: 'verify backups' });
}
