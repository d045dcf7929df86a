import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { createApproval, decideApproval } from '../../src/bot/approval-store.ts';
import type { OpenedView } from '../../src/bot/dev/simulated-slack.ts';
import type { BotJobSpec } from '../../src/bot/job-spec.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { adminUrl, checksumsOf, sql } from '../support/databases.ts';
import { tempDir } from '../support/job-deps.ts';
import { APPROVER_A, APPROVER_B, openModal, OPERATOR, startTestBot, startTestBotWithBackup, textOf, waitForMessage, type TestBot, useBotFlowFixture } from './harness.ts';

let source: { url: string; name: string };
let t: TestBot;

// The file's FBMS database; after each test no Slack rule broken and the bot stopped.
useBotFlowFixture(() => t, (db) => (source = db), 0.05);

async function withBackup(): Promise<Manifest> {
  let manifest: Manifest;
  ({ bot: t, manifest } = await startTestBotWithBackup(source.url));
  return manifest;
}

const inPlace = (backup: string, approvalId?: string): BotJobSpec => ({ type: 'restore', backup, target: { mode: 'in-place' }, reason: 'test', ...(approvalId ? { approvalId } : {}) });

async function approval(backup: Manifest, o: { requestedBy: string; decide?: { by: string }; forBackup?: string }): Promise<string> {
  const spec = inPlace(o.forBackup ?? backup.id);
  const a = await createApproval(t.deps.state, { kind: 'restore-in-place', payload: { spec, backup: { id: backup.id, kind: 'database' } }, requestedBy: o.requestedBy, reason: 'test', ttlSeconds: 600, now: new Date() });
  if (o.decide) await decideApproval(t.deps.state, a.id, 'approved', o.decide.by, new Date());
  return a.id;
}

/** Runs `spec` through the bot's job runner (what every Slack path ends in) and returns how it ended. */
async function run(spec: BotJobSpec, by = OPERATOR) {
  const started = t.bot.services.runner.start(spec, by);
  if (!started.started) throw new Error('busy');
  return started.done;
}

async function auditDetails(status: string): Promise<Array<Record<string, unknown>>> {
  const rows = await t.deps.state.query<{ details: Record<string, unknown> | string }>(`SELECT details FROM backup_audit WHERE operation_type = 'restore' AND status = $1 ORDER BY id`, [status]);
  return rows.map((r) => (typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details));
}

describe('the two-person rule lives in the job layer', () => {
  it('refuses an in-place restore with no approval, a pending one, a self-approved one, or one for another backup; the live database is untouched', async () => {
    const backup = await withBackup();
    const before = await checksumsOf(source.url);
    const other = 'db-20200101T000000Z-abcd';
    const attempts = [
      inPlace(backup.id),
      inPlace(backup.id, await approval(backup, { requestedBy: OPERATOR })),
      inPlace(backup.id, await approval(backup, { requestedBy: APPROVER_A, decide: { by: APPROVER_A } })),
      inPlace(backup.id, await approval(backup, { requestedBy: OPERATOR, decide: { by: APPROVER_B }, forBackup: other })),
    ];
    for (const spec of attempts) {
      const outcome = await run(spec);
      expect(outcome.ok).toBe(false);
      expect('error' in outcome && String(outcome.error)).toMatch(/In-place restore refused/);
    }
    expect(await checksumsOf(source.url)).toEqual(before);
    const kept = await sql(adminUrl(), 'SELECT 1 FROM pg_database WHERE datname LIKE $1', [`${source.name}_pre_restore%`]);
    expect(kept).toEqual([]);
    expect(await auditDetails('refused')).toHaveLength(4);
  });

  it('an approval runs one restore, whose audit rows carry the approval id and approver; using it again is refused', async () => {
    const backup = await withBackup();
    const view: OpenedView = await openModal(t, OPERATOR, SlashCommand.Restore, backup.id);
    let since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view, { restore_target: 'in-place', restore_reason: 'bad import wiped the sales', restore_confirm_name: source.name });
    const request = await waitForMessage(t, (c) => /Approval needed/.test(textOf(c)), since);
    since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_B, request, 'bantay_approval_approve');
    await waitForMessage(t, (c) => /restored from/.test(textOf(c)), since, 60_000);
    await t.bot.services.runner.idle();
    const approvalId = (await t.deps.state.query<{ id: string }>(`SELECT id FROM approvals WHERE status = 'approved'`))[0]!.id;
    const succeeded = await auditDetails('succeeded');
    expect(succeeded.at(-1)).toMatchObject({ authorizedBy: 'approval', approvalId, approvedBy: APPROVER_B });
    const again = await run(inPlace(backup.id, approvalId));
    expect('error' in again && String(again.error)).toMatch(/not an approved, unused approval/);
  });
});

describe('view submissions start only their own kind of job', () => {
  it('a drill form whose metadata was swapped for a backup starts nothing', async () => {
    await withBackup();
    const view = await openModal(t, OPERATOR, SlashCommand.Drill);
    const meta = JSON.parse(view.private_metadata!) as Record<string, unknown>;
    const forged = { ...view, private_metadata: JSON.stringify({ ...meta, spec: { type: 'backup', variant: 'database' } }) };
    const reply = await t.slack.submitView(OPERATOR, forged);
    expect(JSON.stringify(reply.body)).toMatch(/does not start that kind of job/);
    await t.bot.services.runner.idle();
    expect(await listBackups(t.deps.store, t.deps)).toHaveLength(1);
  });
});

describe('files restores from Slack stay under BANTAY_RESTORE_ROOTS', () => {
  it('refuses a directory outside the roots (form and job), restores inside them', async () => {
    const appDir = tempDir('bantay-app-');
    mkdirSync(join(appDir, 'config'));
    writeFileSync(join(appDir, 'config', 'app.json'), '{}\n');
    const root = tempDir('bantay-roots-');
    t = await startTestBot({ files: { appDir, uploadsDir: undefined, appExclude: [], uploadsChainDays: 7, timeZone: 'UTC' }, restoreRoots: [root] });
    const backupView = await openModal(t, OPERATOR, SlashCommand.Backup, 'application');
    let since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, backupView);
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    await t.bot.services.runner.idle();
    const [backup] = await listBackups(t.deps.store, t.deps);
    await t.bot.services.catalog.refresh();

    const outside = join(tempDir('bantay-elsewhere-'), 'app');
    const view = await openModal(t, OPERATOR, SlashCommand.Restore, backup!.id);
    const refused = await t.slack.submitView(OPERATOR, view, { restore_reason: 'look at the config', restore_target_name: outside });
    expect(refused.body).toMatchObject({ response_action: 'errors', errors: { restore_target_name: expect.stringMatching(/only under/) } });
    const job = await run({ type: 'restore', backup: backup!.id, target: { mode: 'new', name: outside }, reason: 'x' });
    expect(job.ok).toBe(false);
    expect(existsSync(outside)).toBe(false);

    since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view, { restore_reason: 'look at the config' });
    await waitForMessage(t, (c) => /restored into/.test(textOf(c)), since, 30_000);
    expect(existsSync(join(root, `bantay-restore-${backup!.id}`, 'config', 'app.json'))).toBe(true);
  });
});

describe('bot_requests', () => {
  it('request ids older than a week are pruned; recent ones stay (a retry is still caught)', async () => {
    t = await startTestBot({});
    const { claimRequest, pruneRequests } = await import('../../src/bot/approval-store.ts');
    expect(await claimRequest(t.deps.state, 'req-old', 'backup', 'slack:U1')).toBe(true);
    await t.deps.state.query(`UPDATE bot_requests SET created_at = now() - interval '8 days' WHERE request_id = 'req-old'`);
    expect(await claimRequest(t.deps.state, 'req-new', 'backup', 'slack:U1')).toBe(true);
    expect(await pruneRequests(t.deps.state, new Date())).toBe(1);
    expect(await claimRequest(t.deps.state, 'req-new', 'backup', 'slack:U1')).toBe(false);
  });
});
