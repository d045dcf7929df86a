import { randomBytes } from 'node:crypto';
import type { Block } from '../messages/blocks.ts';
import type { FakeSlackApi, RecordedCall } from './fake-slack-api.ts';
import { eventBody, interactionBody, postToBot, slashCommandBody, type SlackReply } from './slack-request.ts';

/** A modal as the bot opened it (what views.open recorded). */
export interface OpenedView {
  id: string;
  callback_id: string;
  private_metadata?: string;
  title?: { text: string };
  blocks: Block[];
}

export interface PostedMessage {
  channel: string;
  ts: string;
  blocks?: Block[];
  text?: string;
}

type StateValue = Record<string, unknown>;

/**
 * Plays the Slack client and platform against a running bot: slash commands, modal
 * submissions and button clicks, signed like Slack signs them, with response_urls and
 * trigger ids that lead back to the fake Web API. Tests and `bantay console` both drive the
 * bot through this, so the console runs exactly the handlers a real workspace would.
 */
export class SimulatedSlack {
  constructor(readonly o: { botUrl: string; signingSecret: string; api: FakeSlackApi; channelId: string }) {}

  async command(userId: string, command: string, text = '', options: { retryNum?: number; timestamp?: number; headers?: Record<string, string> } = {}): Promise<SlackReply> {
    const id = randomBytes(4).toString('hex');
    const body = slashCommandBody({ command, text, userId, channelId: this.o.channelId, triggerId: `trig-${id}`, responseUrl: this.o.api.responseUrl(`cmd-${id}`) });
    return postToBot(this.o.botUrl, body, { signingSecret: this.o.signingSecret, ...options });
  }

  /** Submits `view` with `answers` (block id → typed text or chosen option value); unanswered inputs keep their initial values. */
  async submitView(userId: string, view: OpenedView, answers: Record<string, string | undefined> = {}, options: { retryNum?: number } = {}): Promise<SlackReply> {
    return postToBot(this.o.botUrl, interactionBody(viewSubmissionPayload(userId, view, answers)), { signingSecret: this.o.signingSecret, ...options });
  }

  /**
   * Submits and resolves with the view the person finally sees: the ack's own, or, when the ack
   * answered "Working…" (slow work after a fast ack), the views.update of the same view after it.
   */
  async submitViewAndSee(userId: string, view: OpenedView, answers: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<unknown> {
    const since = this.o.api.nextSeq;
    const reply = await this.submitView(userId, view, answers);
    if (!JSON.stringify(reply.body ?? '').includes('Working…')) return reply.body;
    const update = await this.o.api.waitFor((c) => c.method === 'views.update' && c.args.view_id === view.id, { since, timeoutMs });
    return { response_action: 'update', view: update.args.view };
  }

  async clickButton(userId: string, message: PostedMessage, actionId: string, options: { retryNum?: number } = {}): Promise<SlackReply> {
    const button = (message.blocks ?? []).flatMap((b) => ((b.elements as Block[] | undefined) ?? []).map((e) => ({ block: b, e }))).find(({ e }) => e.action_id === actionId);
    if (!button) throw new Error(`no button ${actionId} in message ${message.ts}`);
    const payload = {
      type: 'block_actions',
      ...actor(userId),
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
      trigger_id: `trig-${randomBytes(4).toString('hex')}`,
      channel: { id: message.channel, name: 'incidents' },
      message: { type: 'message', ts: message.ts, text: message.text ?? '', blocks: message.blocks ?? [] },
      response_url: this.o.api.responseUrl(`act-${randomBytes(4).toString('hex')}`),
      actions: [{ type: 'button', action_id: actionId, block_id: button.block.block_id, value: button.e.value, text: button.e.text, action_ts: `${Date.now() / 1000}` }],
    };
    return postToBot(this.o.botUrl, interactionBody(payload), { signingSecret: this.o.signingSecret, ...options });
  }

  async openHome(userId: string): Promise<SlackReply> {
    return postToBot(this.o.botUrl, eventBody({ type: 'app_home_opened', user: userId, channel: 'D0HOME', tab: 'home', event_ts: `${Date.now() / 1000}` }), {
      signingSecret: this.o.signingSecret,
      contentType: 'application/json',
    });
  }

  /**
   * The modal the bot opened after `since`, as the person finally sees it: a "Loading…" view
   * is followed by its views.update. Resolves with the reply instead when the bot answered
   * privately (response_url), undefined when it did neither in time.
   */
  async waitForModal(since: number, timeoutMs = 10_000): Promise<{ view: OpenedView } | { reply: RecordedCall } | undefined> {
    const call = await this.o.api.waitFor((c) => c.method === 'views.open' || c.method === 'response_url', { since, timeoutMs }).catch(() => undefined);
    if (call === undefined) return undefined;
    if (call.method === 'response_url') return { reply: call };
    const opened = call.response.view as OpenedView;
    if (opened.callback_id !== 'bantay_loading') return { view: opened };
    const update = await this.o.api.waitFor((c) => c.method === 'views.update' && c.args.view_id === opened.id, { since: call.seq, timeoutMs }).catch(() => undefined);
    return update ? { view: update.response.view as OpenedView } : undefined;
  }

  /** The message as it stands now: its last postMessage or update, from the fake API's record. */
  currentMessage(channel: string, ts: string): PostedMessage | undefined {
    let current: PostedMessage | undefined;
    for (const c of this.o.api.calls) {
      if (c.response.ok !== true) continue;
      if (c.method === 'chat.postMessage' && c.response.ts === ts) current = { channel, ts, blocks: c.args.blocks as Block[], text: c.args.text as string };
      if (c.method === 'chat.update' && c.args.ts === ts) current = { channel, ts, blocks: c.args.blocks as Block[], text: c.args.text as string };
    }
    return current;
  }
}

/** view.state.values as Slack builds them from the inputs' answers or initial values. */
export function stateOf(view: OpenedView, answers: Record<string, string | undefined>): Record<string, Record<string, StateValue>> {
  const values: Record<string, Record<string, StateValue>> = {};
  for (const block of view.blocks) {
    if (block.type !== 'input') continue;
    const element = block.element as Record<string, unknown>;
    const blockId = block.block_id as string;
    const answer = answers[blockId];
    values[blockId] = { [element.action_id as string]: valueOf(element, answer) };
  }
  return values;
}

function valueOf(element: Record<string, unknown>, answer: string | undefined): StateValue {
  const type = element.type as string;
  if (type === 'plain_text_input') return { type, value: answer ?? (element.initial_value as string | undefined) ?? null };
  if (type === 'datepicker') return { type, selected_date: answer ?? (element.initial_date as string | undefined) ?? null };
  if (type === 'static_select' || type === 'radio_buttons') {
    const options = [...((element.options as StateValue[] | undefined) ?? []), ...((element.option_groups as Array<{ options: StateValue[] }> | undefined) ?? []).flatMap((g) => g.options)];
    const chosen = answer === undefined ? (element.initial_option as StateValue | undefined) : options.find((o) => o.value === answer);
    return { type, selected_option: chosen ?? null };
  }
  if (type === 'checkboxes') {
    // Answer: the ticked option values, comma-separated.
    const ticked = new Set((answer ?? '').split(',').filter((x) => x !== ''));
    return { type, selected_options: ((element.options as StateValue[] | undefined) ?? []).filter((o) => ticked.has(String(o.value))) };
  }
  return { type, value: answer ?? null };
}

/** What Slack sends when `userId` submits `view` with `answers` (over HTTP, or in a Socket Mode envelope). */
export function viewSubmissionPayload(userId: string, view: OpenedView, answers: Record<string, string | undefined> = {}) {
  return {
    type: 'view_submission',
    ...actor(userId),
    trigger_id: `trig-${randomBytes(4).toString('hex')}`,
    view: { ...view, type: 'modal', team_id: 'T0FBMS', app_id: 'A0BANTAY', bot_id: 'B0BANTAY', hash: 'h', state: { values: stateOf(view, answers) } },
    response_urls: [],
  };
}

/** The fields every interaction payload carries about who acted, in which workspace and app. */
function actor(userId: string) {
  return {
    team: { id: 'T0FBMS', domain: 'fbms' },
    user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'T0FBMS' },
    api_app_id: 'A0BANTAY',
    token: 'deprecated-verification-token',
  };
}
