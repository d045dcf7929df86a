import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ActionId } from '../action-ids.ts';
import { createBotApp, type BotApp } from '../app.ts';
import type { BotJobs } from '../bot-jobs.ts';
import { FakeSlackApi, type RecordedCall } from '../dev/fake-slack-api.ts';
import { SimulatedSlack, type OpenedView, type PostedMessage } from '../dev/simulated-slack.ts';
import type { Block } from '../messages/blocks.ts';
import type { JobDeps } from '../../jobs/job-context.ts';
import type { Logger } from '../../log/logger.ts';
import type { BotSettings } from '../services.ts';
import { askModal } from './modal-prompt.ts';
import { mrkdwnToText, renderBlocks } from './render.ts';

export const CONSOLE_HELP = `Type what you would type in Slack:
  /backup [database|application|uploads|full|emergency|pre-deploy VERSION]
  /restore [id]   /verify [id|latest]   /drill   /backups
Then:
  approve | reject   click the button on the latest approval request
  retry              click Retry on the latest failed job
  home               open the App Home dashboard
  as U0BOB           act as another Slack user (now: {user})
  wait               wait until running jobs have finished
  help | quit`;

export interface ConsoleOptions {
  input: Readable;
  output: Writable;
  deps: JobDeps;
  jobs: BotJobs;
  logger: Logger;
  settings: BotSettings;
  user: string;
}

/**
 * `bantay console`: the real bot (Bolt app, handlers, jobs) in HTTP mode on loopback, talking
 * to an in-process fake Slack API; the terminal plays the Slack client. Every message, update,
 * modal and ephemeral reply the bot sends is printed as text; modals prompt for their inputs.
 * Needs no network and no Slack workspace.
 */
export async function runConsole(o: ConsoleOptions): Promise<void> {
  const api = await new FakeSlackApi().start();
  const signingSecret = randomBytes(16).toString('hex');
  const bot: BotApp = createBotApp({ mode: { type: 'http', signingSecret, port: 0, host: '127.0.0.1' }, botToken: 'xoxb-console', apiUrl: api.apiUrl, settings: o.settings, deps: o.deps, jobs: o.jobs, logger: o.logger });
  const { port } = await bot.start();
  const slack = new SimulatedSlack({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret, api, channelId: o.settings.channel });
  const say = (text: string): void => void o.output.write(`${text}\n`);
  const off = api.onCall((call) => printCall(call, say, o.settings.channel));
  const rl = createInterface({ input: o.input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string | undefined> => {
    o.output.write(prompt);
    const next = await lines.next();
    return next.done ? undefined : next.value.trim();
  };
  let user = o.user;
  say(`Bantay console: the bot runs here against a fake Slack. You are ${user}. Type help for commands.`);
  try {
    for (;;) {
      const line = await ask(`${user}> `);
      if (line === undefined || line === 'quit' || line === 'exit') break;
      if (line === '') continue;
      if (line === 'help') say(CONSOLE_HELP.replace('{user}', user));
      else if (line.startsWith('as ')) {
        user = line.slice(3).trim().toUpperCase();
        say(`You are now ${user}.`);
      } else if (line === 'wait') await settle(bot);
      else if (line === 'home') await slack.openHome(user).then(() => pause(300));
      else if (line === 'approve' || line === 'reject' || line === 'retry') await click(line, user);
      else if (line.startsWith('/')) await command(line, user);
      else say(`Unknown input "${line}". Type help.`);
    }
    await settle(bot);
  } finally {
    off();
    rl.close();
    await bot.stop();
    await api.stop();
  }

  async function command(line: string, as: string): Promise<void> {
    const [name = '', ...rest] = line.split(/\s+/);
    const since = api.nextSeq;
    const reply = await slack.command(as, name, rest.join(' '));
    if (reply.status !== 200) return say(`(the bot answered HTTP ${reply.status})`);
    const opened = await slack.waitForModal(since);
    if (opened !== undefined && 'view' in opened) await fillModal(opened.view, as);
  }

  async function fillModal(view: OpenedView, as: string): Promise<void> {
    for (;;) {
      const answers = await askModal(view, ask, say);
      if (answers === undefined) return say('(cancelled)');
      const reply = await slack.submitView(as, view, answers);
      const body = reply.body as { response_action?: string; errors?: Record<string, string>; view?: OpenedView } | '';
      if (body && body.response_action === 'errors') {
        say(`Please fix:\n${Object.entries(body.errors ?? {}).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
        continue;
      }
      if (body && body.response_action === 'update' && body.view) say(`┌ ${body.view.title?.text ?? ''}\n${renderBlocks(body.view.blocks, '│ ')}\n└`);
      await pause(200);
      return;
    }
  }

  async function click(what: 'approve' | 'reject' | 'retry', as: string): Promise<void> {
    const actionId = what === 'approve' ? ActionId.Approve : what === 'reject' ? ActionId.Reject : ActionId.Retry;
    const message = latestWithButton(api, slack, actionId, o.settings.channel);
    if (message === undefined) return say(`There is no message with a ${what} button right now.`);
    await slack.clickButton(as, message, actionId);
    await pause(300);
  }
}

function latestWithButton(api: FakeSlackApi, slack: SimulatedSlack, actionId: string, channel: string): PostedMessage | undefined {
  const posted = api.callsOf('chat.postMessage').filter((c) => c.response.ok === true).reverse();
  for (const c of posted) {
    const current = slack.currentMessage(channel, c.response.ts as string);
    if (JSON.stringify(current?.blocks ?? []).includes(`"action_id":"${actionId}"`)) return current;
  }
  return undefined;
}

function printCall(call: RecordedCall, say: (t: string) => void, channel: string): void {
  const a = call.args;
  if (call.status === 429 || call.response.ok === false) {
    if (call.method !== 'usergroups.users.list') say(`(Slack answered ${call.method}: ${String(call.response.error)})`);
    return;
  }
  const blocks = a.blocks as Block[] | undefined;
  switch (call.method) {
    case 'chat.postMessage':
      return say(`\n── #${String(a.channel ?? channel)}${a.thread_ts ? ' · in thread' : ''} · message ${String(call.response.ts)}\n${blocks ? renderBlocks(blocks) : `  ${mrkdwnToText(String(a.text))}`}`);
    case 'chat.update':
      return say(`\n── #${String(a.channel)} · message ${String(a.ts)} updated\n${renderBlocks(blocks)}`);
    case 'response_url':
      return say(`\n── only you can see this\n${blocks ? renderBlocks(blocks) : `  ${mrkdwnToText(String(a.text ?? ''))}`}`);
    case 'views.publish':
      return say(`\n── App Home of ${String(a.user_id)}\n${renderBlocks((a.view as { blocks?: Block[] }).blocks)}`);
    default:
      return undefined;
  }
}

async function settle(bot: BotApp): Promise<void> {
  await pause(200);
  await bot.services.runner.idle();
  await pause(200);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
