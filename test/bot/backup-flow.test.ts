import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlashCommand } from '../../src/bot/action-ids.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { postToBot } from '../../src/bot/dev/slack-request.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { APPROVER_A, CHANNEL, nextReply, openModal, OPERATOR, startTestBot, STRANGER, textOf, waitForMessage, type TestBot } from './harness.ts';

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

describe('/backup', () => {
  it('opens a confirmation modal, runs the backup once confirmed, updates one message to the result', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup, 'database');
    expect(view.title?.text).toBe('Confirm backup');
    expect(JSON.stringify(view.blocks)).toMatch(/pg_dump/);
    const since = t.api.nextSeq;
    const reply = await t.slack.submitView(OPERATOR, view);
    expect(reply.status).toBe(200);
    expect(JSON.stringify(reply.body)).toMatch(/started/);
    const final = await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    const posts = t.api.callsOf('chat.postMessage').filter((c) => c.seq >= since && c.args.thread_ts === undefined);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.args.channel).toBe(CHANNEL);
    const [manifest] = await listBackups(t.deps.store, t.deps);
    expect(JSON.stringify(final.blocks)).toContain(manifest!.id);
    expect(JSON.stringify(final.blocks)).not.toContain('bantay_job_retry');
    const thread = await t.api.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === final.ts, { since });
    expect(textOf(thread)).toMatch(/public\.sales: \d+ rows/);
    const audit = await listAudit(t.deps.state);
    expect(audit.find((r) => r.operationType === 'backup')).toMatchObject({ status: 'succeeded', performedBy: `slack:${OPERATOR}` });
  });

  it('bad arguments get an ephemeral usage message and open nothing', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const since = t.api.nextSeq;
    await t.slack.command(OPERATOR, SlashCommand.Backup, 'everything please');
    const reply = await nextReply(t, since);
    expect(reply).toMatch(/ephemeral/);
    expect(reply).toMatch(/Usage/);
    expect(t.api.callsOf('views.open')).toHaveLength(0);
  });

  it('an unauthorised user is refused privately, and the attempt is audited', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const since = t.api.nextSeq;
    await t.slack.command(STRANGER, SlashCommand.Backup, '');
    expect(await nextReply(t, since)).toMatch(/only operators and approvers/);
    expect(t.api.callsOf('views.open')).toHaveLength(0);
    const [row] = await listAudit(t.deps.state);
    expect(row).toMatchObject({ operationType: 'backup', status: 'refused', performedBy: `slack:${STRANGER}` });
  });
});

describe('/backup under pressure', () => {
  it('a retried (duplicate) submission starts one job', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    const [first, second, third] = await Promise.all([t.slack.submitView(OPERATOR, view), t.slack.submitView(OPERATOR, view, {}, { retryNum: 1 }), t.slack.submitView(OPERATOR, view, {}, { retryNum: 2 })]);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    await t.bot.services.runner.idle();
    expect(await listBackups(t.deps.store, t.deps)).toHaveLength(1);
    expect(t.api.callsOf('chat.postMessage').filter((c) => c.seq >= since && c.args.thread_ts === undefined)).toHaveLength(1);
  });

  it('a second request while a backup runs is told which job runs, with a link to its message', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('"$REAL" "$@"; sleep 2') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    const progress = await waitForMessage(t, () => true, since);
    const replySince = t.api.nextSeq;
    await t.slack.command(APPROVER_A, SlashCommand.Backup, 'emergency');
    const reply = await nextReply(t, replySince);
    expect(reply).toMatch(/already running/);
    expect(reply).toContain(`p${progress.ts.replace('.', '')}`);
    await t.bot.services.runner.idle();
  });

  it('shows live progress: phase, bar, bytes and elapsed, then the result', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('"$REAL" "$@"; sleep 1.5') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    const updates = t.api.callsOf('chat.update').filter((c) => c.seq >= since).map(textOf);
    expect(updates.some((u) => /dumping/.test(u) && /elapsed/.test(u) && /[█░]/.test(u) && /\d+(\.\d)? (B|KiB|MiB)/.test(u))).toBe(true);
  });

  it('a 429 storm during a backup neither fails nor stalls it; calls stay few and the result lands afterwards', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('"$REAL" "$@"; sleep 2') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    t.api.rateLimitFor('chat.postMessage', 3000, 1);
    t.api.rateLimitFor('chat.update', 3000, 1);
    const started = Date.now();
    await t.slack.submitView(OPERATOR, view);
    const final = await waitForMessage(t, (c) => /stored/.test(textOf(c)), since, 30_000);
    const [manifest] = await listBackups(t.deps.store, t.deps);
    expect(manifest).toBeDefined();
    const audit = await listAudit(t.deps.state);
    expect(audit.find((r) => r.operationType === 'backup')).toMatchObject({ status: 'succeeded' });
    // The job itself finished on its own schedule, long before Slack let us say so.
    expect(new Date(manifest!.completedAt).getTime() - started).toBeLessThan(6000);
    const limited = t.api.calls.filter((c) => c.seq >= since && c.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    // Retry-After: 1 s over a 3 s storm: a handful of attempts, not one per progress report.
    expect(limited.length).toBeLessThanOrEqual(6);
    expect(JSON.stringify(final.blocks)).toContain(manifest!.id);
  });

  it('a failed job says why in one sentence, with an error id that is in the logs, and Retry retries once', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('echo "pg_dump: error: connection to server lost" >&2\nexit 1') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    await t.slack.submitView(OPERATOR, view);
    const failed = await waitForMessage(t, (c) => /Failed/.test(textOf(c)), since);
    const text = JSON.stringify(failed.blocks);
    expect(text).toMatch(/connection to server lost/);
    const errorId = /Error id `([0-9a-f]{8})`/.exec(text)?.[1];
    expect(errorId).toBeDefined();
    expect(t.logLines.some((l) => l.includes(`"errorId":"${errorId}"`))).toBe(true);
    await t.bot.services.runner.idle();

    const retrySince = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, failed, 'bantay_job_retry');
    await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts === failed.ts && /Retried by/.test(textOf(c)), retrySince);
    await waitForMessage(t, (c) => c.method === 'chat.update' && c.args.ts !== failed.ts && /Failed/.test(textOf(c)), retrySince);
    await t.bot.services.runner.idle();
    const again = t.api.nextSeq;
    await t.slack.clickButton(OPERATOR, failed, 'bantay_job_retry');
    expect(await nextReply(t, again)).toMatch(/already retried/);
  });
});

describe('request signatures', () => {
  it('a forged or stale signature is rejected and nothing happens', async () => {
    t = await startTestBot({ databaseUrl: source.url });
    const forged = await t.slack.command(OPERATOR, SlashCommand.Backup, '', { headers: { 'x-slack-signature': `v0=${'0'.repeat(64)}` } });
    expect(forged.status).toBe(401);
    const stale = await t.slack.command(OPERATOR, SlashCommand.Backup, '', { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(stale.status).toBe(401);
    const wrongSecret = await postToBot(t.url, 'command=%2Fbackup&user_id=U0OPERATOR', { signingSecret: 'not-the-secret' });
    expect(wrongSecret.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.api.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });
});

describe('the event loop during a backup', () => {
  it('stays free: the bot answers HTTP within a fraction of a second while 100 MB stream through hashing and encryption', async () => {
    t = await startTestBot({ databaseUrl: source.url, pgBinDir: fakePgBinDir('"$REAL" "$@"; head -c 100000000 /dev/urandom') });
    const view = await openModal(t, OPERATOR, SlashCommand.Backup);
    const since = t.api.nextSeq;
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    await t.slack.submitView(OPERATOR, view);
    const probes: number[] = [];
    while (t.bot.services.runner.running().length > 0) {
      const started = performance.now();
      const reply = await fetch(t.url.replace('/slack/events', '/healthz'));
      expect(reply.status).toBe(200);
      probes.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 50));
    }
    histogram.disable();
    await waitForMessage(t, (c) => /stored/.test(textOf(c)), since);
    expect(probes.length).toBeGreaterThan(3);
    expect(Math.max(...probes)).toBeLessThan(1000);
    expect(histogram.percentile(99) / 1e6).toBeLessThan(250);
  });
});
