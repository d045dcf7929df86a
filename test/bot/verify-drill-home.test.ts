import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { nextReply, openModal, OPERATOR, startTestBot, textOf, waitForMessage, type TestBot } from './harness.ts';

let source: { url: string; name: string };
let t: TestBot;

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});
afterEach(async () => {
  expect(t.api.violations()).toEqual([]);
  await t.stop();
});

async function backupNow(): Promise<string> {
  const m = await runDatabaseBackup({ databaseUrl: source.url, trigger: { by: 'cli:test', via: 'cli' } }, t.deps);
  await t.bot.services.catalog.refresh();
  return m.id;
}

describe('/verify, /drill and App Home', () => {
  it('/verify latest names the exact backup, restores it into a scratch database and reports every check; App Home shows it verified', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const id = await backupNow();
    const view = await openModal(t, OPERATOR, SlashCommand.Verify, 'latest');
    expect(JSON.stringify(view.blocks)).toContain(id);
    const since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    const final = await waitForMessage(t, (c) => /verified: restored/.test(textOf(c)), since, 60_000);
    expect(JSON.stringify(final.blocks)).toContain(id);
    const thread = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === final.ts, { since });
    expect(textOf(thread)).toMatch(/✓ rows public\.sales/);
    await t.bot.services.runner.idle();
    await t.bot.services.catalog.refresh();
    const homeSince = t.api.nextSeq;
    await t.slack.openHome(OPERATOR);
    const home = await t.api.waitFor((c) => c.method === 'views.publish', { since: homeSince });
    expect(home.args.user_id).toBe(OPERATOR);
    expect(textOf(home)).toMatch(new RegExp(`${id}.*verified`));
  });

  it('/verify of an unknown id is answered privately', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const since = t.api.nextSeq;
    await t.slack.command(OPERATOR, SlashCommand.Verify, 'db-20200101T000000Z-abcd');
    // The modal opens at once (Loading…) and then says so, to that person only.
    const shown = await t.slack.waitForModal(since);
    expect(shown && 'view' in shown && JSON.stringify(shown.view.blocks)).toMatch(/There is no backup/);
  });

  it('/drill runs the drill and App Home, once opened, refreshes with the running job and then the drill result', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    await backupNow();
    await t.slack.openHome(OPERATOR);
    await t.api.waitFor((c) => c.method === 'views.publish');
    const view = await openModal(t, OPERATOR, SlashCommand.Drill);
    expect(JSON.stringify(view.blocks)).toMatch(/Objectives: RTO/);
    const since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    const final = await waitForMessage(t, (c) => /Recovery drill `drill-/.test(textOf(c)), since, 60_000);
    expect(JSON.stringify(final.blocks)).toMatch(/passed/);
    const refreshed = await t.api.waitFor((c) => c.method === 'views.publish' && /Last recovery drill.*passed/.test(textOf(c)), { since, timeoutMs: 10_000 });
    expect(textOf(refreshed)).toMatch(/RTO/);
  });

  it('App Home lists a job while it runs', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('"$REAL" "$@"; sleep 1.5') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    await t.slack.submitView(OPERATOR, view);
    await t.api.waitFor((c) => c.method === 'chat.postMessage');
    const since = t.api.nextSeq;
    await t.slack.openHome(OPERATOR);
    const home = await t.api.waitFor((c) => c.method === 'views.publish', { since });
    expect(textOf(home)).toMatch(/Jobs running now.*Database backup/);
    await t.bot.services.runner.idle();
  });
});
