import type { ButtonAction } from '@slack/bolt';
import { claimRequest } from '../approval-store.ts';
import { authorize, refusalFor, replyEphemeral } from '../commands/common.ts';
import { errorToText } from '../errors-to-text.ts';
import { parseJobSpec } from '../job-spec.ts';
import { context, mention, slackDate, type Block } from '../messages/blocks.ts';
import { BlockId } from '../action-ids.ts';
import type { BotServices } from '../services.ts';
import { slackErrorOf } from '../slack-api.ts';
import type { ActionArgs } from './approval.ts';

/**
 * The Retry button on a failed job's message. A failed message can be retried once (its ts is
 * claimed as a request id); the retry posts a new progress message, and the button is replaced
 * by who retried it and when.
 */
export function handleRetryAction(s: BotServices) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const userId = args.body.user.id;
    try {
      const spec = parseJobSpec(JSON.parse((args.action as ButtonAction).value ?? 'null'));
      if (spec.type === 'restore' && spec.target.mode === 'in-place') return replyEphemeral(args.respond, 'An in-place restore needs a new approval: run `/restore` again.');
      // Stopping or starting the application is an incident step, run from its checklist (which records it), never from a bare button.
      if (spec.type === 'app-hook') return replyEphemeral(args.respond, 'Stopping or starting the application is run from the incident checklist: use its button there.');
      if (!(await authorize(s, userId, 'operator', { operationType: spec.type, what: 'retry jobs' }, args.respond))) return;
      const refusal = refusalFor(s, spec);
      if (refusal !== undefined) return replyEphemeral(args.respond, refusal);
      const message = args.body.message as { ts?: string; blocks?: Block[] } | undefined;
      const channel = args.body.channel?.id ?? s.settings.channel;
      if (!(await claimRequest(s.state, `retry:${channel}:${message?.ts ?? args.body.trigger_id}`, 'retry', `slack:${userId}`))) {
        return replyEphemeral(args.respond, 'This job was already retried; see the newer message below it.');
      }
      const outcome = s.runner.start(spec, userId);
      if (!outcome.started) return replyEphemeral(args.respond, refusal ?? 'Another job is running.');
      if (message?.ts && message.blocks) {
        const blocks = [...message.blocks.filter((b) => b.block_id !== BlockId.JobActions), context(`Retried by ${mention(userId)} ${slackDate(s.now())}`)];
        await s.chat.update({ channel, ts: message.ts, text: 'Retried', blocks }).catch((err: unknown) => s.logger.warn({ error: slackErrorOf(err) }, 'could not update the retried message'));
      }
    } catch (err) {
      await replyEphemeral(args.respond, errorToText(err, s.logger, { userId, action: 'retry' })).catch(() => undefined);
    }
  };
}
