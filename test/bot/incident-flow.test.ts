import { describe, expect, it } from 'vitest';
import type { PostedMessage } from '../../src/bot/dev/simulated-slack.ts';
import { SHIPPED_RUNBOOK_DIR } from '../../src/config/incident-config.ts';
import { readIncidentReport } from '../../src/catalog/incident-report.ts';
import { declareIncident, listIncidents, markStepDone, requireIncident } from '../../src/jobs/incident/incidents.ts';
import { loadRunbook } from '../../src/jobs/incident/runbooks.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { checksumsOf, sql } from '../support/databases.ts';
import { tempDir } from '../support/job-deps.ts';
import { APPROVER_B, CHANNEL, nextReply, openModal, OPERATOR, startTestBot, startTestBotWithBackup, STRANGER, textOf, waitForMessage, type TestBot, useBotFlowFixture } from './harness.ts';

/**
 * Incident mode through the real Bolt app and the fake Slack API: declare → headline and
 * checklist → a second declare refused → a step marked done → a crafted button refused →
 * handover → an in-place restore step run from its button, approved by a second person, with
 * the incident on the approval request → status update with drafts → resolve → the report in
 * the thread and in the store.
 */
const COMMANDER = 'U0COMMANDR';
let source: { url: string; name: string };
let t: TestBot;

// The file's FBMS database; after each test no Slack rule broken and the bot stopped.
useBotFlowFixture(() => t, (db) => (source = db));

function forged(message: PostedMessage, actionId: string, value: string): PostedMessage {
  const blocks = JSON.parse(JSON.stringify(message.blocks)) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>;
  for (const b of blocks) for (const e of b.elements ?? []) if (e.action_id === actionId) e.value = value;
  return { ...message, blocks: blocks as PostedMessage['blocks'] };
}

describe('/incident', () => {
  it('runs a database-corruption incident from Slack, end to end', { timeout: 180_000 }, async () => {
    let manifest;
    ({ bot: t, manifest } = await startTestBotWithBackup(source.url, { recovery: { appStopCmd: 'true' }, settings: { incident: { runbookDir: SHIPPED_RUNBOOK_DIR, serviceName: 'Tindahan', internalNames: [source.name] } } }));
    const before = await checksumsOf(source.url);
    await new Promise((r) => setTimeout(r, 1100));
    await sql(source.url, 'UPDATE sales SET total = total * 2');

    const declare = await openModal(t, OPERATOR, '/incident');
    expect(JSON.stringify(declare.blocks)).toContain('Database corruption (2 h)');
    let since = t.api.nextSeq;
    const declared = await t.slack.submitView(OPERATOR, declare, { incident_scenario: 'database-corruption', incident_summary: 'Sale totals doubled after a price update' });
    expect(JSON.stringify(declared.body)).toMatch(/Incident declared/);
    const headline = await waitForMessage(t, (c) => c.method === 'chat.postMessage' && /Incident INVESTIGATING/.test(textOf(c)), since);
    expect(JSON.stringify(headline.blocks)).toContain(`<@${OPERATOR}>`);
    expect(JSON.stringify(headline.blocks)).toMatch(/of the 2h00m objective/);
    const checklistCall = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Runbook/.test(textOf(c)), { since });
    let checklist = t.slack.currentMessage(headline.channel, checklistCall.response.ts as string)!;
    expect(JSON.stringify(checklist.blocks)).toContain('bantay_incident_run_7');
    // Every step Bantay can do has its button, point in time included.
    expect(JSON.stringify(checklist.blocks)).toContain('bantay_incident_run_5');
    const [incident] = await listIncidents(t.deps.state);

    // App Home shows the open incident first.
    since = t.api.nextSeq;
    await t.slack.openHome(OPERATOR);
    const home = await t.api.waitFor((c) => c.method === 'views.publish', { since });
    const homeBlocks = (home.args.view as { blocks: Array<Record<string, unknown>> }).blocks;
    expect(JSON.stringify(homeBlocks[0])).toContain('Incident open: Database corruption');
    expect(JSON.stringify(homeBlocks[0])).toContain(`commander <@${OPERATOR}>`);

    since = t.api.nextSeq;
    await t.slack.command(OPERATOR, '/incident', '');
    expect(await nextReply(t, since)).toMatch(/already open/);
    since = t.api.nextSeq;
    await t.slack.command(STRANGER, '/incident', 'note hello');
    expect(await nextReply(t, since)).toMatch(/only operators and approvers/);

    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_done_1');
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Step 1 done/.test(textOf(c)), { since });
    checklist = await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === checklist.ts && !textOf(c).includes('bantay_incident_done_1'), since);

    for (const value of ['inc-20200101T000000Z-0000:3', `${incident!.id}:4`, 'db-20200101T000000Z-0000:3', `${incident!.id}:99`]) {
      since = t.api.nextSeq;
      await t.slack.clickButton(OPERATOR, forged(checklist, 'bantay_incident_done_3', value), 'bantay_incident_done_3');
      expect(await nextReply(t, since)).toMatch(/no such incident|does not belong|Not an incident id/);
    }

    // The application stop hook (configured) runs from its button; the start hook (not configured) says so.
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_2');
    let runModal = await t.slack.waitForModal(since);
    if (!runModal || !('view' in runModal)) throw new Error('no run modal');
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, runModal.view))).toMatch(/Step 2 started/);
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Step 2 succeeded/.test(textOf(c)), { since, timeoutMs: 30_000 });
    await t.bot.services.runner.idle();
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_8');
    runModal = await t.slack.waitForModal(since);
    if (!runModal || !('view' in runModal)) throw new Error('no run modal');
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, runModal.view))).toMatch(/No command to start the application/);

    // This bot has no point-in-time recovery set up (no data directory): the step says so in words.
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_5');
    runModal = await t.slack.waitForModal(since);
    if (!runModal || !('view' in runModal)) throw new Error('no run modal');
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, runModal.view))).toMatch(/Point-in-time recovery is not set up where the bot runs/);

    since = t.api.nextSeq;
    await t.slack.command(OPERATOR, '/incident', `commander <@${COMMANDER}|maria>`);
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && textOf(c).includes(`<@${COMMANDER}> is now the incident commander`), { since });

    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_7');
    const opened = await t.slack.waitForModal(since);
    if (!opened || !('view' in opened)) throw new Error('no run modal');
    expect(JSON.stringify(opened.view.blocks)).toContain(`Restore backup ${manifest.id}`);
    since = t.api.nextSeq;
    const submitted = await t.slack.submitViewAndSee(OPERATOR, opened.view, { incident_target: 'in-place', incident_reason: 'put the clean data back' });
    expect(JSON.stringify(submitted)).toMatch(/Approval requested/);
    const request = await waitForMessage(t, (c) => /Approval needed/.test(textOf(c)), since);
    expect(JSON.stringify(request.blocks)).toContain('During the incident *Database corruption*');
    expect(`${request.text} ${JSON.stringify(request.blocks)}`).toContain(`<@${COMMANDER}>`);
    // While the step waits for its approval the incident cannot be resolved: the report would miss it.
    const early = await openModal(t, OPERATOR, '/incident', 'resolve');
    since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, early, { incident_root_cause: 'not known yet' });
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && /could not be resolved.*Step 7 is still running/s.test(textOf(c)), { since });
    since = t.api.nextSeq;
    await t.slack.clickButton(APPROVER_B, request, 'bantay_approval_approve');
    await waitForMessage(t, (c) => /restored from/.test(textOf(c)), since, 120_000);
    // The approved job closes the step it was requested for.
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Step 7 succeeded/.test(textOf(c)), { since, timeoutMs: 30_000 });
    await t.bot.services.runner.idle();
    expect(await checksumsOf(source.url)).toEqual(before);

    // A second in-place request for the same step, rejected: the step ends as not run.
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_7');
    const again = await t.slack.waitForModal(since);
    if (!again || !('view' in again)) throw new Error('no run modal');
    since = t.api.nextSeq;
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, again.view, { incident_target: 'in-place' }))).toMatch(/Approval requested/);
    const second = await waitForMessage(t, (c) => /Approval needed/.test(textOf(c)), since);
    await t.slack.clickButton(APPROVER_B, second, 'bantay_approval_reject');
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Step 7 did not run: the in-place restore was rejected/.test(textOf(c)), { since });

    // Stopping the application is never re-run by a crafted Retry button outside its checklist.
    since = t.api.nextSeq;
    const retry = { channel: headline.channel, ts: headline.ts, text: 'x', blocks: [{ type: 'actions', block_id: 'bantay_job_actions', elements: [{ type: 'button', action_id: 'bantay_job_retry', value: JSON.stringify({ type: 'app-hook', hook: 'stop' }), text: { type: 'plain_text', text: 'Retry' } }] }] } as PostedMessage;
    await t.slack.clickButton(OPERATOR, retry, 'bantay_job_retry');
    expect(await nextReply(t, since)).toMatch(/run from the incident checklist/);

    since = t.api.nextSeq;
    await t.slack.command(OPERATOR, '/incident', 'update recovering Sales figures from this afternoon are being corrected.');
    const drafts = await nextReply(t, since);
    expect(drafts).toMatch(/Drafts to copy/);
    expect(drafts).toMatch(/Support reply/);
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Status \*recovering\*/.test(textOf(c)), { since });
    since = t.api.nextSeq;
    await t.slack.command(OPERATOR, '/incident', `update recovering ${source.name} is being restored`);
    expect(await nextReply(t, since)).toMatch(/cannot be published/);

    const resolve = await openModal(t, OPERATOR, '/incident', 'resolve');
    since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, resolve, { incident_root_cause: 'A price update without a WHERE clause', incident_lessons: 'Stop the app first' });
    const reportCall = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === headline.ts && /Recovery report of/.test(textOf(c)), { since, timeoutMs: 30_000 });
    const posted = textOf(reportCall);
    for (const section of ['Incident details', 'Recovery actions', 'Time to recovery', 'Data loss', 'Verification', 'Root cause', 'Lessons learned']) expect(posted).toContain(section);
    await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === headline.ts && /RESOLVED/.test(textOf(c)), since);

    const report = await readIncidentReport(t.deps.store, incident!.id, t.deps);
    expect(report.details.commanders).toEqual([`slack:${OPERATOR}`, `slack:${COMMANDER}`]);
    expect(report.actions.recoveries).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'restore', backupId: manifest.id, inPlace: true, recoveredPoint: manifest.createdAt, status: 'succeeded' })]));
    expect(report.dataLoss).toMatchObject({ state: 'measured', recoveredPoint: manifest.createdAt });
    const kinds = new Set(report.actions.timeline.map((e) => e.kind));
    for (const kind of ['declared', 'step-done', 'step-started', 'step-finished', 'commander', 'status-update', 'audit:approval', 'audit:restore', 'audit:hook']) expect(kinds).toContain(kind);
  });

  it('announces an incident declared on the console once, and keeps its messages up to date with what the console does, one edit per message per 3 s', { timeout: 60_000 }, async () => {
    t = await startTestBot({ settings: { incidentSyncMs: 3_600_000, incident: { runbookDir: SHIPPED_RUNBOOK_DIR, serviceName: 'Tindahan', internalNames: [] } } });
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'server-failure');
    const incident = await declareIncident(t.deps.state, { runbook, severity: 'sev1', summary: 'The <server> is gone', detectedAt: new Date(), declaredBy: 'cli:ana' });
    const since = t.api.nextSeq;
    await Promise.all([t.bot.services.incident.sync(), t.bot.services.incident.sync(), t.bot.services.incident.sync()]);
    const headlines = t.api.calls.filter((c) => c.seq >= since && c.method === 'chat.postMessage' && /Incident INVESTIGATING/.test(textOf(c)));
    expect(headlines).toHaveLength(1);
    expect(String(headlines[0]!.args.text)).toContain('&lt;server&gt;');
    const announced = await requireIncident(t.deps.state, incident.id);
    expect(announced.slackChecklistTs).toBeTruthy();
    // Steps marked done on the console reach the checklist at the next sync; the edits of one message stay 3 s apart.
    await markStepDone(t.deps.state, announced, 1, 'cli:ana');
    await t.bot.services.incident.sync();
    await markStepDone(t.deps.state, announced, 2, 'cli:ana');
    await t.bot.services.incident.sync();
    const edit = (n: number) => t.api.waitFor((c) => c.method === 'chat.update' && c.args.ts === announced.slackChecklistTs && (textOf(c).match(/white_check_mark/g) ?? []).length >= n, { since, timeoutMs: 15_000 });
    // Both changes inside one window are one edit, with the newest state.
    const first = await edit(2);
    await markStepDone(t.deps.state, announced, 3, 'cli:ana');
    await t.bot.services.incident.sync();
    const second = await edit(3);
    expect(second.at - first.at).toBeGreaterThanOrEqual(2900);
    const checklistEdits = t.api.calls.filter((c) => c.seq >= since && c.method === 'chat.update' && c.args.ts === announced.slackChecklistTs);
    expect(checklistEdits).toHaveLength(2);
  });

  it('a headline whose checklist post failed gets its checklist at the next sync, once, whatever replicas race', { timeout: 60_000 }, async () => {
    t = await startTestBot({ settings: { incidentSyncMs: 3_600_000, incident: { runbookDir: SHIPPED_RUNBOOK_DIR, serviceName: 'Tindahan', internalNames: [] } } });
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const incident = await declareIncident(t.deps.state, { runbook, severity: 'sev1', summary: 'checklist lost', detectedAt: new Date(), declaredBy: 'cli:ana' });
    await t.bot.services.incident.sync();
    const headlineTs = (await requireIncident(t.deps.state, incident.id)).slackTs!;
    // As if the checklist post had failed after the headline was posted.
    await t.deps.state.query('UPDATE incidents SET slack_checklist_ts = NULL WHERE id = $1', [incident.id]);
    let since = t.api.nextSeq;
    t.api.failNext('chat.postMessage', 'internal_error');
    await t.bot.services.incident.sync();
    expect((await requireIncident(t.deps.state, incident.id)).slackChecklistTs).toBeNull();
    await Promise.all([t.bot.services.incident.sync(), t.bot.services.incident.sync(), t.bot.services.incident.sync()]);
    const posts = t.api.calls.filter((c) => c.seq >= since && c.method === 'chat.postMessage' && c.response.ok === true && /Runbook/.test(textOf(c)));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.args.thread_ts).toBe(headlineTs);
    expect((await requireIncident(t.deps.state, incident.id)).slackChecklistTs).toBe(posts[0]!.response.ts);
    // A poster that died holding the claim: a fresh claim is left alone, a stale one taken over.
    await t.deps.state.query('UPDATE incidents SET slack_checklist_ts = $2 WHERE id = $1', [incident.id, `posting:${new Date().toISOString()}`]);
    since = t.api.nextSeq;
    await t.bot.services.incident.sync();
    expect(t.api.calls.filter((c) => c.seq >= since && c.method === 'chat.postMessage')).toHaveLength(0);
    await t.deps.state.query('UPDATE incidents SET slack_checklist_ts = $2 WHERE id = $1', [incident.id, `posting:${new Date(Date.now() - 10 * 60_000).toISOString()}`]);
    await t.bot.services.incident.sync();
    expect(t.api.calls.filter((c) => c.seq >= since && c.method === 'chat.postMessage' && /Runbook/.test(textOf(c)))).toHaveLength(1);
  });

  it('a data center outage: the step "restore from the secondary location" reads the secondary\'s own catalog and restores into a new database', { timeout: 120_000 }, async () => {
    const secondaryDir = tempDir('bantay-secondary-');
    t = await startTestBot({ databaseUrl: source.url, secondaryDir, settings: { incident: { runbookDir: SHIPPED_RUNBOOK_DIR, serviceName: 'Tindahan', internalNames: [] } } });
    // The backup exists on the secondary only (the primary is the lost site).
    const onSecondary = await runDatabaseBackup({ databaseUrl: source.url, trigger: { by: 'cli:test', via: 'cli' } }, { ...t.deps, store: createLocalStore(secondaryDir) });
    const expected = await checksumsOf(source.url);
    await new Promise((r) => setTimeout(r, 1100));
    const declare = await openModal(t, OPERATOR, '/incident');
    let since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, declare, { incident_scenario: 'datacenter-outage', incident_summary: 'The main site is down' });
    const checklistCall = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts !== undefined && /Runbook/.test(textOf(c)), { since });
    const checklist = t.slack.currentMessage(CHANNEL, checklistCall.response.ts as string)!;
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, checklist, 'bantay_incident_run_3');
    const run = await t.slack.waitForModal(since);
    if (!run || !('view' in run)) throw new Error('no run modal');
    expect(JSON.stringify(run.view.blocks)).toContain(`Restore backup ${onSecondary.id}`);
    expect(JSON.stringify(run.view.blocks)).toContain('from the secondary location');
    expect(JSON.stringify(run.view.blocks)).not.toContain('In place of the live data');
    since = t.api.nextSeq;
    const target = `${source.name}_dc`;
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, run.view, { incident_target_name: target }))).toMatch(/Step 3 started/);
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && /Step 3 succeeded/.test(textOf(c)), { since, timeoutMs: 60_000 });
    expect(await checksumsOf(withDatabase(source.url, target))).toEqual(expected);
    // Step 4 checks that database against the backup it came from, read where it came from.
    since = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, t.slack.currentMessage(CHANNEL, checklistCall.response.ts as string)!, 'bantay_incident_run_4');
    const verify = await t.slack.waitForModal(since);
    if (!verify || !('view' in verify)) throw new Error('no run modal');
    expect(JSON.stringify(verify.view.blocks)).toContain(`Check database ${target} against backup ${onSecondary.id} (read from the secondary location)`);
    since = t.api.nextSeq;
    expect(JSON.stringify(await t.slack.submitViewAndSee(OPERATOR, verify.view, {}))).toMatch(/Step 4 started/);
    await t.api.waitFor((c) => c.method === 'chat.postMessage' && /Step 4 succeeded/.test(textOf(c)), { since, timeoutMs: 60_000 });
    const audit: Array<{ details: { database?: string } }> = await t.deps.state.query(`SELECT details FROM backup_audit WHERE operation_type = 'verify' AND backup_id = $1 AND status = 'succeeded'`, [onSecondary.id]);
    expect(audit.map((r) => r.details.database)).toEqual([target]);
    // A crafted in-place restore from the secondary is refused by the job layer, not only the form.
    expect(t.bot.services.jobs.unavailable({ type: 'restore', backup: onSecondary.id, target: { mode: 'in-place' }, reason: 'x', from: 'secondary' })).toMatch(/new database only/);
  });
});
