import type { App, BlockAction } from '@slack/bolt';
import { ActionId } from '../action-ids.ts';
import { authorize, replyEphemeral } from '../commands/common.ts';
import { openRestoreModal } from '../commands/restore.ts';
import { errorToText } from '../errors-to-text.ts';
import type { BotJobSpec } from '../job-spec.ts';
import { buildNoticeView } from '../messages/modal.ts';
import type { BotServices } from '../services.ts';
import { refusalFor } from '../commands/common.ts';

/**
 * App Home's buttons: Back up now, Verify latest, Run drill, Restore…. App Home has no
 * response_url, so the answer is a small modal (the click's trigger id is fresh).
 */
export function registerHomeActions(app: App, s: BotServices): void {
  const start = (actionId: string, spec: BotJobSpec, operationType: string, what: string) =>
    app.action<BlockAction>(actionId, async ({ ack, body, client }) => {
      await ack();
      const userId = body.user.id;
      const notice = (title: string, text: string) => client.views.open({ trigger_id: body.trigger_id, view: buildNoticeView(title, text) as never }).catch((err: unknown) => s.logger.warn({ err }, 'could not open a notice'));
      try {
        if (!(await authorize(s, userId, 'operator', { operationType, what }, undefined))) return void (await notice('Not allowed', `Only operators and approvers can ${what}. Ask your team lead for access.`));
        const refusal = refusalFor(s, spec);
        if (refusal !== undefined) return void (await notice('Not started', refusal));
        const outcome = s.runner.start(spec, userId);
        await notice(outcome.started ? 'Started' : 'Not started', outcome.started ? `:arrow_forward: *${outcome.job.title}* started; its progress is in <#${s.settings.channel}>.` : 'Another job is running.');
      } catch (err) {
        await notice('Something went wrong', errorToText(err, s.logger, { userId, action: actionId }));
      }
    });
  start(ActionId.HomeBackup, { type: 'backup', variant: 'database' }, 'backup', 'run backups');
  start(ActionId.HomeVerify, { type: 'verify', backup: 'latest' }, 'verify', 'verify backups');
  start(ActionId.HomeDrill, { type: 'drill' }, 'drill', 'run drills');
  app.action<BlockAction>(ActionId.HomeRestore, async ({ ack, body, respond }) => {
    await ack();
    if (!(await authorize(s, body.user.id, 'operator', { operationType: 'restore', what: 'request restores' }, undefined))) return;
    await openRestoreModal(s, body.trigger_id, s.settings.channel, {}).catch((err: unknown) => replyEphemeral(respond, errorToText(err, s.logger)).catch(() => undefined));
  });
}
