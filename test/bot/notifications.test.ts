import { describe, expect, it } from 'vitest';
import { ActionId, SlashCommand } from '../../src/bot/action-ids.ts';
import { eventBody, postToBot } from '../../src/bot/dev/slack-request.ts';
import type { Block } from '../../src/bot/messages/blocks.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { createDatabase, uniqueName } from '../support/databases.ts';
import { APPROVER_A, APPROVER_B, nextReply, openModal, OPERATOR, SIGNING_SECRET, startTestBot, startTestBotWithBackup, textOf, waitForMessage, type TestBot, useBotFlowFixture } from './harness.ts';

let source: { url: string; name: string };
let t: TestBot;
const ONCALL = 'S0ONCALL';

// The file's FBMS database; after each test no Slack rule broken and the bot stopped.
useBotFlowFixture(() => t, (db) => (source = db), 0.05);

async function withBackup(o: Parameters<typeof startTestBot>[0] = {}): Promise<Manifest> {
  let manifest: Manifest;
  ({ bot: t, manifest } = await startTestBotWithBackup(source.url, { settings: { oncall: [ONCALL] }, ...o }));
  return manifest;
}

const actionIds = (blocks: Block[] | undefined) => (blocks ?? []).flatMap((b) => ((b.elements as Block[] | undefined) ?? []).map((e) => e.action_id as string | undefined)).filter((id) => id !== undefined);

describe('bad news notifies', () => {
  it('a failure that Retry cannot fix: thread reply broadcast with the requester and on-call, no Retry, the fixing button, no CLI syntax', async () => {
    const backup = await withBackup();
    const taken = uniqueName(`${source.name}_taken`);
    await createDatabase(taken);
    const since = t.api.nextSeq;
    const started = t.bot.services.runner.start({ type: 'restore', backup: backup.id, target: { mode: 'new', name: taken }, reason: 'compare' }, OPERATOR);
    expect(started.started).toBe(true);
    const final = await waitForMessage(t, (c) => c.method === 'chat.update' && /failed/.test(textOf(c)), since, 60_000);
    expect(textOf({ args: final } as never)).toMatch(/already exists/);
    expect(JSON.stringify(final)).not.toMatch(/--[a-z]|bantay [a-z]/);
    expect(actionIds(final.blocks)).not.toContain(ActionId.Retry);
    expect(actionIds(final.blocks)).toContain(ActionId.RestoreAnotherName);
    const notice = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === final.ts, { since });
    expect(String(notice.args.reply_broadcast)).toBe('true');
    expect(String(notice.args.text)).toContain(`<@${OPERATOR}>`);
    expect(String(notice.args.text)).toContain(`<!subteam^${ONCALL}>`);

    const clickSince = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, final, ActionId.RestoreAnotherName);
    const shown = await t.slack.waitForModal(clickSince);
    const view = shown && 'view' in shown ? shown.view : undefined;
    const nameInput = view?.blocks.find((b) => b.block_id === 'restore_target_name') as { element: { initial_value?: string } } | undefined;
    expect(nameInput?.element.initial_value).toMatch(/_restore_/);
    const backupInput = view?.blocks.find((b) => b.block_id === 'restore_backup') as { element: { initial_option?: { value: string } } } | undefined;
    expect(backupInput?.element.initial_option?.value).toBe(backup.id);
  });

  it('a failure that may pass next time gets Retry, and its notice pings', async () => {
    t = await startTestBot({
      databaseUrl: source.url,
      wrapJobs: (jobs) => ({ ...jobs, run: async () => { throw new BantayError(ErrorCode.Storage, 'upload failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:443'), { code: 'ECONNREFUSED' }) }); } }),
    });
    const since = t.api.nextSeq;
    t.bot.services.runner.start({ type: 'backup', variant: 'database' }, OPERATOR);
    const final = await waitForMessage(t, (c) => c.method === 'chat.update' && /failed/.test(textOf(c)), since);
    expect(actionIds(final.blocks)).toContain(ActionId.Retry);
    const notice = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === final.ts, { since });
    expect(String(notice.args.text)).toContain(`<@${OPERATOR}>`);
  });
});

describe('the next step is a button', () => {
  it('after a backup: Verify now runs the verification, Show details opens the facts; no id to type', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup, 'database');
    let since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    const final = await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    expect(actionIds(final.blocks)).toEqual(expect.arrayContaining([ActionId.VerifyNow, ActionId.OpenRestore, ActionId.ShowDetails]));
    expect(JSON.stringify(final.blocks)).not.toContain('/verify');
    await t.bot.services.runner.idle();
    await t.bot.services.catalog.refresh();

    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, final, ActionId.ShowDetails);
    const details = await t.slack.waitForModal(since);
    expect(details && 'view' in details && JSON.stringify(details.view.blocks)).toMatch(/SHA-256/);

    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, final, ActionId.VerifyNow);
    const verified = await waitForMessage(t, (c) => /verified: restored into a scratch database/.test(textOf(c)), since, 60_000);
    expect(actionIds(verified.blocks)).toContain(ActionId.OpenRestore);
  });
});

describe('approval requests reach the approvers', () => {
  it('mentions the approvers but not the requester, names people in the notification text, confirms Approve, and posts the decision in the thread', async () => {
    const backup = await withBackup({ settings: { approvers: [APPROVER_A, APPROVER_B, 'S0APPROVERS'] }, userGroups: { S0APPROVERS: [APPROVER_B] } });
    const view = await openModal(t, APPROVER_A, SlashCommand.Restore, backup.id);
    let since = t.api.nextSeq;
    await t.slack.submitView(APPROVER_A, view, { restore_target: 'in-place', restore_reason: 'bad import', restore_confirm_name: source.name });
    const post = await t.api.waitFor((c) => c.method === 'chat.postMessage' && /approval needed/i.test(String(c.args.text)), { since });
    const text = String(post.args.text);
    expect(text).toContain(`<@${APPROVER_B}>`);
    expect(text).toContain('<!subteam^S0APPROVERS>');
    expect(text).toContain(`<@${APPROVER_A}> asks`);
    expect(text).not.toMatch(new RegExp(`(^|[^@])${APPROVER_A}`));
    expect(text.indexOf(`<@${APPROVER_A}>`)).toBe(text.lastIndexOf(`<@${APPROVER_A}>`));
    const request = t.slack.currentMessage(post.args.channel as string, post.response.ts as string)!;
    const approve = (request.blocks ?? []).flatMap((b) => (b.elements as Block[] | undefined) ?? []).find((e) => e.action_id === ActionId.Approve);
    expect(approve?.confirm).toMatchObject({ confirm: { text: 'Approve and restore' } });

    since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_B, request, ActionId.Reject);
    const decision = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === request.ts, { since });
    expect(String(decision.args.text)).toContain(`<@${APPROVER_A}>`);
    expect(String(decision.args.text)).toMatch(/rejected by/);
  });
});

describe('help', () => {
  it('/backup help and an @-mention explain every command in one line each', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    let since = t.api.nextSeq;
    await t.slack.command(OPERATOR, SlashCommand.Backup, 'help');
    const reply = await nextReply(t, since);
    for (const c of ['/backup', '/restore', '/verify', '/drill', '/backups']) expect(reply).toContain(c);
    expect(t.api.callsOf('views.open')).toHaveLength(0);
    since = t.api.nextSeq;
    await t.slack.command(OPERATOR, SlashCommand.Restore, 'help');
    expect(await nextReply(t, since)).toContain('/restore');

    since = t.api.nextSeq;
    await postToBot(t.url, eventBody({ type: 'app_mention', user: OPERATOR, channel: 'C0INCIDENT', text: '<@U0BANTAY> what can you do?', ts: '1700000000.000100', event_ts: '1700000000.000100' }), { signingSecret: SIGNING_SECRET, contentType: 'application/json' });
    const answer = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === '1700000000.000100', { since });
    expect(textOf(answer)).toContain('/drill');
  });

  it('App Home has buttons and the command list; Back up now starts a backup', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    let since = t.api.nextSeq;
    await t.slack.openHome(OPERATOR);
    const home = await t.api.waitFor((c) => c.method === 'views.publish', { since });
    const blocks = (home.args.view as { blocks: Block[] }).blocks;
    expect(actionIds(blocks)).toEqual([ActionId.HomeBackup, ActionId.HomeVerify, ActionId.HomeDrill, ActionId.HomeRestore]);
    expect(textOf(home)).toContain('recovery drill');
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, { channel: 'D0HOME', ts: '0', blocks }, ActionId.HomeBackup);
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since, 60_000);
  });
});
