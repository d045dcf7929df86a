import { describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import type { OpenedView, PostedMessage } from '../../src/bot/dev/simulated-slack.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { decideApproval } from '../../src/bot/approval-store.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { consumeInPlaceAuthorization } from '../../src/jobs/authorization/in-place-authorization.ts';
import { checksumsOf, createFbmsDatabase, databaseExists, dropDatabasesLike } from '../support/databases.ts';
import { APPROVER_A, APPROVER_B, CHANNEL, nextReply, openModal, OPERATOR, startTestBot, startTestBotWithBackup, STRANGER, textOf, waitForMessage, type TestBot, useBotFlowFixture } from './harness.ts';

let source: { url: string; name: string };
let t: TestBot;

// The file's FBMS database; after each test no Slack rule broken and the bot stopped.
useBotFlowFixture(() => t, (db) => (source = db));

async function withBackup(options: Parameters<typeof startTestBot>[0] = {}): Promise<Manifest> {
  let manifest: Manifest;
  ({ bot: t, manifest } = await startTestBotWithBackup(source.url, options));
  return manifest;
}

/** Submits the restore form in place and resolves with the approval message it posted. */
async function requestInPlace(requester: string, backupId: string): Promise<PostedMessage> {
  const view: OpenedView = await openModal(t, requester, SlashCommand.Restore, backupId);
  const since = t.api.nextSeq;
  const reply = await t.slack.submitView(requester, view, { restore_target: 'in-place', restore_reason: 'bad import wiped the sales of Nov 25', restore_confirm_name: source.name });
  expect(JSON.stringify(reply.body)).toMatch(/Approval requested/);
  return waitForMessage(t, (c) => /Approval needed/.test(textOf(c)), since);
}

describe('/restore in place with two-person approval', () => {
  it('modal, confirmation by name, self-approval refused, stranger refused, a second approver approves once, the restore runs', async () => {
    const backup = await withBackup();
    const view = await openModal(t, APPROVER_A, SlashCommand.Restore, backup.id);
    expect(JSON.stringify(view.blocks)).toContain(backup.id);
    const bad = await t.slack.submitView(APPROVER_A, view, { restore_target: 'in-place', restore_reason: 'bad import', restore_confirm_name: 'fbms_typo' });
    expect(bad.body).toMatchObject({ response_action: 'errors', errors: { restore_confirm_name: expect.stringContaining(source.name) } });
    const noReason = await t.slack.submitView(APPROVER_A, view, { restore_target: 'in-place', restore_confirm_name: source.name });
    expect(noReason.body).toMatchObject({ response_action: 'errors', errors: { restore_reason: expect.any(String) } });

    const request = await requestInPlace(APPROVER_A, backup.id);
    const requestText = JSON.stringify(request.blocks);
    expect(requestText).toContain(`<@${APPROVER_A}>`);
    expect(requestText).toContain(backup.id);
    expect(requestText).toMatch(/bad import wiped the sales/);
    expect(requestText).toMatch(/Expires/);
    expect(requestText).toMatch(/never verified/);

    let since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_A, request, 'bantay_approval_approve');
    expect(await nextReply(t, since)).toMatch(/different\* approver/);
    since = t.api.nextSeq;
    await t.slack.clickButton(STRANGER, request, 'bantay_approval_approve');
    expect(await nextReply(t, since)).toMatch(/only approvers/);
    expect(t.bot.services.runner.running()).toEqual([]);

    since = t.api.nextSeq;
    const clicks = await Promise.all([t.slack.clickButton(APPROVER_B, request, 'bantay_approval_approve'), t.slack.clickButton(APPROVER_B, request, 'bantay_approval_approve', { retryNum: 1 })]);
    expect(clicks.map((c) => c.status)).toEqual([200, 200]);
    const decided = await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === request.ts && /Approved/.test(textOf(c)), since);
    expect(JSON.stringify(decided.blocks)).toContain(`<@${APPROVER_B}>`);
    expect(JSON.stringify(decided.blocks)).not.toContain('bantay_approval_approve');
    expect(await nextReply(t, since)).toMatch(/already approved/);

    const final = await waitForMessage(t, (c) => /restored from/.test(textOf(c)), since, 60_000);
    expect(JSON.stringify(final.blocks)).toMatch(/pre_restore/);
    expect(JSON.stringify(final.blocks)).toContain(`approved by <@${APPROVER_B}>`);
    await t.bot.services.runner.idle();
    expect(t.api.callsOf('chat.postMessage').filter((c) => c.seq >= since && /IN-PLACE restore/.test(textOf(c)) && c.args.thread_ts === undefined)).toHaveLength(1);

    const audit = await listAudit(t.deps.state, { limit: 100 });
    const approvals = audit.filter((r) => r.operationType === 'approval').map((r) => `${r.status} ${r.performedBy}`);
    expect(approvals).toEqual(expect.arrayContaining([`requested slack:${APPROVER_A}`, `refused slack:${APPROVER_A}`, `refused slack:${STRANGER}`, `approved slack:${APPROVER_B}`]));
    expect(audit.find((r) => r.operationType === 'restore' && r.status === 'succeeded')).toMatchObject({ performedBy: `slack:${APPROVER_A}` });
  });

  it('a backup of another database goes in place only when ticked, with both names in the form and the request; the job layer holds the approver to exactly those choices', async () => {
    await withBackup();
    const other = await createFbmsDatabase({ scale: 0.05, seed: 7 });
    try {
      const foreign = await runDatabaseBackup({ databaseUrl: other.url, trigger: { by: 'cli:test', via: 'cli' } }, t.deps);
      await t.bot.services.catalog.refresh();
      const view = await openModal(t, OPERATOR, SlashCommand.Restore, foreign.id);
      expect(JSON.stringify(view.blocks)).toContain(`Backups here of another database: ${other.name}; the live one is ${source.name}.`);
      const answers = { restore_target: 'in-place', restore_reason: 'moving the shop to the new database', restore_confirm_name: source.name };
      const untickedReply = await t.slack.submitView(OPERATOR, view, answers);
      expect(untickedReply.body).toMatchObject({ response_action: 'errors', errors: { restore_in_place_options: expect.stringContaining(`is a backup of ${other.name}, not of ${source.name}`) } });
      // The choices exist for in place only.
      const newTarget = await t.slack.submitView(OPERATOR, view, { ...answers, restore_target: 'new', restore_in_place_options: 'accept-restore-errors' });
      expect(newTarget.body).toMatchObject({ response_action: 'errors', errors: { restore_in_place_options: expect.stringContaining('in place') } });
      const since = t.api.nextSeq;
      const ticked = await t.slack.submitView(OPERATOR, view, { ...answers, restore_in_place_options: 'from-other-database' });
      expect(JSON.stringify(ticked.body)).toMatch(/Approval requested/);
      const request = await waitForMessage(t, (c) => /Approval needed/.test(textOf(c)), since);
      expect(JSON.stringify(request.blocks)).toContain(`a backup of *${other.name}*, another database than`);
      const [approval] = await t.deps.state.query<{ id: string; payload: { spec: Record<string, unknown> } }>(`SELECT id, payload FROM approvals WHERE status = 'pending'`);
      expect(approval!.payload.spec).toMatchObject({ fromOtherDatabase: true });
      expect(approval!.payload.spec).not.toHaveProperty('acceptRestoreErrors');
      // A run that adds a choice the approver never saw is refused, and the approval stays unused.
      await decideApproval(t.deps.state, approval!.id, 'approved', APPROVER_B, new Date());
      await expect(consumeInPlaceAuthorization(t.deps.state, { type: 'approval', approvalId: approval!.id }, { backupId: foreign.id, kind: 'database', choices: { acceptRestoreErrors: true, fromOtherDatabase: true } }, new Date())).rejects.toThrow(/with the choices asked for/);
      // The approved choices themselves run: the live database becomes the other one's copy.
      const expected = await checksumsOf(other.url);
      const outcome = t.bot.services.runner.start({ type: 'restore', backup: foreign.id, target: { mode: 'in-place' }, reason: 'x', approvalId: approval!.id, fromOtherDatabase: true }, OPERATOR);
      if (!outcome.started) throw new Error('not started');
      const done = await outcome.done;
      expect(done.ok, JSON.stringify(done)).toBe(true);
      expect(await checksumsOf(source.url)).toEqual(expected);
      const audit = await listAudit(t.deps.state, { limit: 50 });
      expect(audit.some((r) => r.operationType === 'restore' && r.status === 'started' && r.backupId === foreign.id)).toBe(true);
    } finally {
      await dropDatabasesLike(`${other.name}%`);
    }
  });

  it('rejection by an approver from a user group updates the message and runs nothing', async () => {
    const backup = await withBackup({ settings: { approvers: [APPROVER_A, 'S0APPROVERS'] }, userGroups: { S0APPROVERS: [APPROVER_B] } });
    const request = await requestInPlace(OPERATOR, backup.id);
    const since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_B, request, 'bantay_approval_reject');
    const decided = await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === request.ts && /Rejected/.test(textOf(c)), since);
    expect(JSON.stringify(decided.blocks)).toContain(`<@${APPROVER_B}>`);
    const late = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_A, request, 'bantay_approval_approve');
    expect(await nextReply(t, late)).toMatch(/already rejected/);
    expect(t.bot.services.runner.running()).toEqual([]);
    expect((await listAudit(t.deps.state)).find((r) => r.status === 'rejected')).toMatchObject({ operationType: 'approval', performedBy: `slack:${APPROVER_B}` });
  });

  it('an unanswered request expires, says so, and cannot be approved afterwards', async () => {
    const backup = await withBackup({ settings: { approvalTtlSeconds: 1, expiryCheckMs: 100 } });
    const request = await requestInPlace(OPERATOR, backup.id);
    expect(JSON.stringify(request.blocks)).toMatch(/Expires/);
    const expired = await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === request.ts && /Expired/.test(textOf(c)), 0, 10_000);
    expect(JSON.stringify(expired.blocks)).not.toContain('bantay_approval_approve');
    const since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_A, request, 'bantay_approval_approve');
    expect(await nextReply(t, since)).toMatch(/expired/);
    expect(t.bot.services.runner.running()).toEqual([]);
    expect((await listAudit(t.deps.state)).some((r) => r.operationType === 'approval' && r.status === 'expired')).toBe(true);
  });
});

describe('/restore in place when Slack refuses the approval request', () => {
  it('withdraws the request, says so, and the withdrawal is in the audit log', async () => {
    const backup = await withBackup();
    const view = await openModal(t, OPERATOR, SlashCommand.Restore, backup.id);
    t.api.failNext('chat.postMessage', 'channel_not_found');
    const reply = await t.slack.submitView(OPERATOR, view, { restore_target: 'in-place', restore_reason: 'bad import wiped the sales of Nov 25', restore_confirm_name: source.name });
    expect(JSON.stringify(reply.body)).toMatch(/could not be posted/);
    const audit = await listAudit(t.deps.state, { limit: 20 });
    const steps = audit.filter((r) => r.operationType === 'approval').map((r) => [r.status, r.performedBy]);
    expect(steps).toEqual(expect.arrayContaining([['requested', `slack:${OPERATOR}`], ['rejected', 'bantay']]));
  });
});

describe('/restore into a new database', () => {
  it('needs no approval: runs at once into the default name derived from the backup date', async () => {
    const backup = await withBackup();
    const view = await openModal(t, OPERATOR, SlashCommand.Restore, backup.id);
    const since = t.api.nextSeq;
    const reply = await t.slack.submitView(OPERATOR, view, { restore_reason: 'compare with yesterday' });
    expect(JSON.stringify(reply.body)).toMatch(/started/);
    const final = await waitForMessage(t, (c) => /restored into/.test(textOf(c)), since, 60_000);
    const target = /restored into `([a-z0-9_]+)`/.exec(JSON.stringify(final.blocks))?.[1];
    expect(target).toMatch(new RegExp(`^${source.name}_restore_\\d{8}_\\d{4}$`));
    expect(await databaseExists(target!)).toBe(true);
    const restoredUrl = new URL(source.url);
    restoredUrl.pathname = `/${target}`;
    expect(await checksumsOf(restoredUrl.toString())).toEqual(await checksumsOf(source.url));
    expect(t.api.callsOf('chat.postMessage').some((c) => c.args.channel === CHANNEL && /Approval needed/.test(textOf(c)))).toBe(false);
  });
});
