import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { tempDir } from '../support/job-deps.ts';
import { nextReply, openModal, OPERATOR, startTestBot, textOf, waitForMessage, type TestBot } from './harness.ts';

let t: TestBot;
afterEach(async () => {
  expect(t.api.violations()).toEqual([]);
  await t.stop();
});

function appTree(): string {
  const dir = tempDir('bantay-app-');
  mkdirSync(join(dir, 'config'));
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'server.js'), 'console.log("fbms")\n');
  writeFileSync(join(dir, 'config', 'app.json'), '{"currency":"PHP"}\n');
  writeFileSync(join(dir, 'node_modules', 'big.js'), 'x'.repeat(10_000));
  return dir;
}

describe('file backups from Slack', () => {
  it('/backup application stores the app directory; /restore puts it into a new directory', async () => {
    const appDir = appTree();
    t = await startTestBot({ files: { appDir, uploadsDir: undefined, appExclude: ['node_modules'], uploadsChainDays: 7, timeZone: 'UTC' } });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup, 'application');
    expect(JSON.stringify(view.blocks)).toContain(appDir);
    let since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    await t.bot.services.runner.idle();
    const [backup] = await listBackups(t.deps.store, t.deps);
    expect(backup?.kind).toBe('application');

    await t.bot.services.catalog.refresh();
    const restore = await openModal(t, OPERATOR, SlashCommand.Restore, backup!.id);
    const target = join(tempDir('bantay-restore-'), 'app');
    since = t.api.nextSeq;
    const bad = await t.slack.submitView(OPERATOR, restore, { restore_reason: 'roll back config', restore_target_name: '../relative' });
    expect(bad.body).toMatchObject({ response_action: 'errors', errors: { restore_target_name: expect.stringMatching(/absolute/) } });
    await t.slack.submitView(OPERATOR, restore, { restore_reason: 'roll back config', restore_target_name: target });
    await waitForMessage(t, (c) => /restored into/.test(textOf(c)), since, 30_000);
    expect(readFileSync(join(target, 'config', 'app.json'), 'utf8')).toBe('{"currency":"PHP"}\n');
    expect(existsSync(join(target, 'node_modules'))).toBe(false);
  });

  it('/restore of uploads by day picks the last uploads backup of that day', async () => {
    const uploadsDir = tempDir('bantay-uploads-');
    writeFileSync(join(uploadsDir, 'receipt-1.jpg'), 'jpeg-bytes-1');
    t = await startTestBot({ files: { appDir: undefined, uploadsDir, appExclude: [], uploadsChainDays: 7, timeZone: 'Asia/Manila' } });
    for (const extra of ['receipt-2.jpg', 'receipt-3.jpg']) {
      const view = await openModal(t, OPERATOR, SlashCommand.Backup, 'uploads');
      const since = t.api.nextSeq;
      await t.slack.submitView(OPERATOR, view);
      await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
      await t.bot.services.runner.idle();
      writeFileSync(join(uploadsDir, extra), `jpeg-bytes-${extra}`);
    }
    await t.bot.services.catalog.refresh();
    const restore = await openModal(t, OPERATOR, SlashCommand.Restore);
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Manila', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
    const target = join(tempDir('bantay-restore-'), 'uploads');
    const since = t.api.nextSeq;
    const reply = await t.slack.submitView(OPERATOR, restore, { restore_date: day, restore_reason: 'customer lost a receipt', restore_target_name: target });
    expect(JSON.stringify(reply.body)).toMatch(/started/);
    await waitForMessage(t, (c) => /restored into/.test(textOf(c)), since, 30_000);
    // The second backup of the day saw receipt-1 and receipt-2; receipt-3 came later.
    expect(readFileSync(join(target, 'receipt-2.jpg'), 'utf8')).toBe('jpeg-bytes-receipt-2.jpg');
    expect(existsSync(join(target, 'receipt-3.jpg'))).toBe(false);
  });

  it('/backup uploads without UPLOADS_DIR says what is missing, privately', async () => {
    t = await startTestBot({});
    const since = t.api.nextSeq;
    await t.slack.command(OPERATOR, SlashCommand.Backup, 'uploads');
    expect(await nextReply(t, since)).toMatch(/UPLOADS_DIR/);
  });
});
