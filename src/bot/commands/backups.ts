import { listPendingApprovals } from '../approval-store.ts';
import { parseNoArgs } from '../job-spec.ts';
import { buildBackupsListMessage } from '../messages/backups-list.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, parseOrUsage, replyEphemeral, type CommandArgs } from './common.ts';
import { answeredHelp } from './help.ts';

/** `/backups`: the list and status, only for the person who asked. */
export function handleBackupsCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text } = args.command;
      if (await answeredHelp(args, '/backups')) return;
      if (!(await authorize(s, userId, 'operator', { operationType: 'list', what: 'see the backups' }, args.respond))) return;
      const parsed = parseOrUsage(() => parseNoArgs('/backups', text), '/backups');
      if (typeof parsed === 'string') return replyEphemeral(args.respond, parsed);
      const snapshot = await s.catalog.get(2500);
      if (snapshot === undefined) return replyEphemeral(args.respond, 'The backup catalog is still loading; try again in a few seconds.');
      const message = buildBackupsListMessage({ snapshot, running: s.runner.running(), approvals: await listPendingApprovals(s.state, s.now()), store: s.storeDescription, now: s.now() });
      await args.respond({ response_type: 'ephemeral', ...message } as never);
    });
}
