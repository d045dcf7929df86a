import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { createDatabase, dropDatabase, sql } from '../support/databases.ts';
import { tempDir } from '../support/job-deps.ts';
import { openModal, OPERATOR, startTestBot, startTestBotWithBackup, textOf, type TestBot } from './harness.ts';

/**
 * Point-in-time recovery in the restore form and App Home when there is no window to show: not
 * set up (BANTAY_WAL off), a store that fails or never answers, and a forged job. The window
 * itself, the lag and a real recovery from the form are in pitr-restore-flow.test.ts.
 */
let url: string;
let t: TestBot;

beforeAll(async () => {
  url = await createDatabase('pitr_home_live');
  await sql(url, "CREATE TABLE prices (id serial PRIMARY KEY, label text NOT NULL); INSERT INTO prices (label) VALUES ('seed')");
});
afterAll(async () => {
  await dropDatabase('pitr_home_live');
});
afterEach(async () => {
  expect(t.api.violations()).toEqual([]);
  await t.stop();
});

async function openHomeText(user = OPERATOR): Promise<{ text: string; ms: number }> {
  const since = t.api.nextSeq;
  const started = Date.now();
  await t.slack.openHome(user);
  const home = await t.api.waitFor((c) => c.method === 'views.publish' && c.args.user_id === user, { since, timeoutMs: 10_000 });
  return { text: textOf(home), ms: Date.now() - started };
}

describe('point-in-time recovery without a window', () => {
  it('WAL archiving off: App Home says not set up, the form offers no point in time and says why, and a crafted point-in-time answer is refused', async () => {
    ({ bot: t } = await startTestBotWithBackup(url));
    const home = await openHomeText();
    expect(home.text).toMatch(/Point-in-time recovery\*\\nNot set up\. WAL archiving is off/);

    const view = await openModal(t, OPERATOR, SlashCommand.Restore);
    const blocks = JSON.stringify(view.blocks);
    expect(blocks).toContain('Point-in-time recovery is not available. WAL archiving is off');
    expect(blocks).not.toContain('To a point in time');
    expect(blocks).not.toMatch(/bantay |--[a-z]/);
    // Slack would not offer the choice; a forged payload choosing it anyway gets the reason under the field.
    const forged = structuredClone(view);
    const radio = forged.blocks.find((b) => b.block_id === 'restore_target')!.element as { options: unknown[] };
    radio.options.push({ text: { type: 'plain_text', text: 'forged' }, value: 'point-in-time' });
    const reply = await t.slack.submitView(OPERATOR, forged, { restore_target: 'point-in-time', restore_time: '2026-11-26 14:29', restore_reason: 'bad price update' });
    expect(reply.body).toMatchObject({ response_action: 'errors', errors: { restore_target: expect.stringContaining('WAL archiving is off') } });
    expect(t.bot.services.runner.running()).toEqual([]);
  });

  it('a store that never answers: App Home is still published within seconds and says it could not check; a failing one says why', async () => {
    t = await startTestBot({ databaseUrl: url, wal: { mode: 'stream' }, dataDir: tempDir('bantay-pitr-home-'), wrapJobs: (jobs) => ({ ...jobs, readPitrStatus: () => new Promise(() => undefined) }) });
    const hung = await openHomeText();
    expect(hung.text).toContain('Could not check: the backup store did not answer in time');
    expect(hung.ms).toBeLessThan(5000);
    expect(hung.text).toContain('Latest backups');
    // The hung read is given up on only after its own timeout (20 s); a second bot whose store fails at once.
    await t.stop();
    t = await startTestBot({
      databaseUrl: url,
      wal: { mode: 'stream' },
      dataDir: tempDir('bantay-pitr-home-'),
      wrapJobs: (jobs) => ({ ...jobs, readPitrStatus: () => Promise.reject(new BantayError(ErrorCode.Storage, 'The backup store failed: connect ECONNREFUSED 10.0.0.5:443')) }),
    });
    const failed = await openHomeText();
    expect(failed.text).toContain('Could not check: The backup store failed: connect ECONNREFUSED 10.0.0.5:443');
    expect(failed.text).not.toContain('Restorable window');
  });

  it('the job layer refuses a point-in-time job whose target is forged to be in place, before touching anything', async () => {
    const dataDir = tempDir('bantay-pitr-forged-');
    t = await startTestBot({ databaseUrl: url, wal: { mode: 'archive' }, dataDir });
    const outcome = t.bot.services.runner.start({ type: 'pitr-restore', time: new Date(Date.now() - 60_000).toISOString(), target: { mode: 'in-place' } as never, reason: 'forged' }, OPERATOR);
    if (!outcome.started) throw new Error('not started');
    const ended = await outcome.ended;
    expect(ended.ok).toBe(false);
    expect('error' in ended && (ended.error as Error).message).toMatch(/new database only/);
    await t.bot.services.runner.idle();
    const final = t.api.callsOf('chat.update').map(textOf).join('\n');
    expect(final).toMatch(/new database only; the live database was not touched/);
    expect(await sql(url, 'SELECT label FROM prices')).toEqual([{ label: 'seed' }]);
  });
});
