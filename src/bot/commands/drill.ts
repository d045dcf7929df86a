import { parseNoArgs, type BotJobSpec } from '../job-spec.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { buildDrillConfirmModal } from '../messages/confirm-modals.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, confirmContext, encodeMetadata, newRequestId, parseOrUsage, refusalFor, replyEphemeral, type CommandArgs } from './common.ts';
import { answeredHelp } from './help.ts';
import { openModalThen } from './open-modal.ts';
import { handleConfirmedSubmission } from './start-job.ts';

/** `/drill`: confirms which backups the drill will restore, then runs it. */
export function handleDrillCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text, trigger_id: triggerId, channel_id: channelId } = args.command;
      if (await answeredHelp(args, '/drill')) return;
      if (!(await authorize(s, userId, 'operator', { operationType: 'drill', what: 'run drills' }, args.respond))) return;
      const parsed = parseOrUsage(() => parseNoArgs('/drill', text), '/drill');
      if (typeof parsed === 'string') return replyEphemeral(args.respond, parsed);
      const spec: BotJobSpec = { type: 'drill' };
      const refusal = refusalFor(s, spec);
      if (refusal !== undefined) return replyEphemeral(args.respond, refusal);
      await openModalThen(args.client, triggerId, 'Confirm drill', async () => {
        const snapshot = await s.catalog.get(10_000);
        const latest: CatalogEntry[] = [];
        for (const e of snapshot?.entries ?? []) if (!latest.some((l) => l.manifest.kind === e.manifest.kind)) latest.push(e);
        const metadata = encodeMetadata({ requestId: newRequestId(), channelId, spec });
        return buildDrillConfirmModal(latest, s.jobs.objectives(), confirmContext(s, metadata));
      }, s.logger);
    });
}

export function handleDrillSubmission(s: BotServices) {
  return handleConfirmedSubmission(s, 'drill', { operationType: 'drill', what: 'run drills' });
}
