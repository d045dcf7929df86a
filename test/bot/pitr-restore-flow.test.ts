import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeSlackApi } from '../../src/bot/dev/fake-slack-api.ts';
import { SimulatedSlack, type OpenedView } from '../../src/bot/dev/simulated-slack.ts';
import { main } from '../../src/cli/main.ts';
import { freePort } from '../../src/dev/pg-cluster-process.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { formatWallTime } from '../../src/schedule/zoned-time.ts';
import { bantay } from '../support/cli.ts';
import { createDatabase, sql } from '../support/databases.ts';
import { startPitrCluster, switchAndWait, type PitrCluster } from '../support/pitr-cluster.ts';
import { CHANNEL, OPERATOR, SIGNING_SECRET, textOf } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TZ = 'Asia/Manila';
const manila = (d: Date) => formatWallTime(d, TZ, true);
const labels = async (url: string) => (await sql<{ label: string }>(url, 'SELECT label FROM prices ORDER BY id')).map((r) => r.label);

/**
 * "/restore → to a point in time" against a real cluster archiving through `bantay wal push`,
 * with the bot run by `bantay serve` (BANTAY_WAL=archive): the form shows the window the archive
 * holds, refuses times outside it and the live database's name under the fields, recovers to the
 * typed second into a new database exactly once, and App Home shows the window and the lag.
 */
describe('/restore to a point in time, and App Home, through bantay serve', () => {
  let p: PitrCluster;
  let fbms: string;
  let env: Record<string, string>;
  let cut: Date;
  let api: FakeSlackApi;
  let slack: SimulatedSlack;
  let stop: AbortController;
  let exit: Promise<number>;

  beforeAll(async () => {
    p = await startPitrCluster({ s3Endpoint: inject('s3Endpoint') });
    fbms = await p.cluster.createDatabase('fbms_slack');
    env = { ...p.env, DATABASE_URL: fbms, BANTAY_WAL: 'archive' };
    await sql(fbms, 'CREATE TABLE prices (id serial PRIMARY KEY, label text NOT NULL)');
    await sql(fbms, "INSERT INTO prices (label) VALUES ('seed')");
    expect((await bantay(['backup', 'base'], env, p.dir)).code).toBe(0);
    // The restore form lists dumps; one must exist for it to open.
    expect((await bantay(['backup', 'database'], env, p.dir)).code).toBe(0);
    await switchAndWait(p.cluster.adminUrl);
    await sleep(1200);
    await sql(fbms, "INSERT INTO prices (label) VALUES ('b1'), ('b2')");
    await sleep(1200);
    // A whole second, as a person types it.
    cut = new Date(Math.floor(Date.now() / 1000) * 1000);
    await sleep(1500);
    await sql(fbms, "INSERT INTO prices (label) VALUES ('a1')");
    await sql(fbms, "UPDATE prices SET label = 'bad-price-update' WHERE label = 'b1'");
    await switchAndWait(p.cluster.adminUrl);

    api = await new FakeSlackApi().start();
    const port = await freePort();
    stop = new AbortController();
    const serveEnv = { ...env, BANTAY_STATE_URL: await createDatabase(), SLACK_BOT_TOKEN: 'xoxb-pitr-form', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: api.apiUrl, BANTAY_HTTP_PORT: String(port), BANTAY_OPERATORS: OPERATOR };
    exit = main(['serve'], { env: serveEnv, signal: stop.signal, stdout: new PassThrough() as unknown as NodeJS.WriteStream, stderr: new PassThrough() as unknown as NodeJS.WriteStream, cwd: p.dir });
    let healthy = false;
    for (let i = 0; i < 150 && !healthy; i += 1) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!healthy) await sleep(100);
    }
    expect(healthy).toBe(true);
    slack = new SimulatedSlack({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, api, channelId: CHANNEL });
  }, 600_000);
  afterAll(async () => {
    stop?.abort();
    if (exit) expect(await exit).toBe(0);
    await api?.stop();
    await p?.stop();
  });

  /** The window as `bantay wal status` reads it, in whole seconds as the form shows it. */
  async function windowOfStatus(): Promise<{ from: Date; to: Date; lastArchivedAt: Date }> {
    const status = JSON.parse((await bantay(['wal', 'status', '--json'], env, p.dir)).stdout) as { window: { from: string; to: string }; lastArchived: { at: string } };
    return { from: new Date(Math.ceil(Date.parse(status.window.from) / 1000) * 1000), to: new Date(Math.floor(Date.parse(status.window.to) / 1000) * 1000), lastArchivedAt: new Date(status.lastArchived.at) };
  }

  async function openRestoreForm(): Promise<OpenedView> {
    const since = api.nextSeq;
    await slack.command(OPERATOR, '/restore');
    const opened = await slack.waitForModal(since, 30_000);
    if (!opened || !('view' in opened)) throw new Error('no restore form');
    return opened.view;
  }

  it('the form offers a point in time with the window in BANTAY_TZ, and refuses a time outside it, in the future, unreadable, or the live name, under the field', async () => {
    const window = await windowOfStatus();
    const view = await openRestoreForm();
    const blocks = JSON.stringify(view.blocks);
    expect(blocks).toContain('To a point in time (database only)');
    expect(blocks).toContain(`For a point in time: the time (${TZ})`);
    const windowText = `${manila(window.from)} to ${manila(window.to)} (${TZ})`;
    expect(blocks).toContain(`Restorable: ${windowText}`);
    const pitr = (answers: Record<string, string>) => slack.submitView(OPERATOR, view, { restore_target: 'point-in-time', restore_reason: 'bad price update at 14:29', ...answers });

    const before = await pitr({ restore_time: manila(new Date(window.from.getTime() - 3600_000)) });
    expect(before.body).toEqual({ response_action: 'errors', errors: { restore_time: `That is before the oldest base backup. Restorable: ${windowText}.` } });
    const future = await pitr({ restore_time: manila(new Date(Date.now() + 86_400_000)) });
    expect(future.body).toMatchObject({ response_action: 'errors', errors: { restore_time: expect.stringMatching(/^That is in the future .*Restorable: /) } });
    const garbage = await pitr({ restore_time: 'yesterday at 2' });
    expect(garbage.body).toMatchObject({ response_action: 'errors', errors: { restore_time: expect.stringContaining('YYYY-MM-DD HH:MM') } });
    const live = await pitr({ restore_time: manila(cut), restore_target_name: 'fbms_slack' });
    expect(live.body).toMatchObject({ response_action: 'errors', errors: { restore_target_name: expect.stringContaining('fbms_slack is the live FBMS database') } });
    expect(JSON.stringify(live.body)).not.toMatch(/--in-place|bantay /);
    // Nothing was started by any of them.
    expect(api.callsOf('chat.postMessage').filter((c) => /Point-in-time recovery/.test(textOf(c)))).toEqual([]);
  });

  it('App Home shows the restorable window and the age of the newest archived WAL', async () => {
    const window = await windowOfStatus();
    const since = api.nextSeq;
    await slack.openHome(OPERATOR);
    const home = await api.waitFor((c) => c.method === 'views.publish' && c.args.user_id === OPERATOR, { since, timeoutMs: 10_000 });
    const text = textOf(home);
    expect(text).toContain(`Restorable window: *${manila(window.from)} to ${manila(window.to)} (${TZ})*`);
    const lag = /Newest archived WAL: \*(?:(\d+)m(\d\d)s|([\d.]+)s) ago\* \(([\d-]+ [\d:]+)\)/.exec(text);
    expect(lag).not.toBeNull();
    const shownSeconds = lag![3] !== undefined ? Number(lag![3]) : Number(lag![1]) * 60 + Number(lag![2]);
    const expected = (Date.now() - window.lastArchivedAt.getTime()) / 1000;
    expect(Math.abs(shownSeconds - expected)).toBeLessThan(30);
    expect(lag![4]).toBe(manila(window.lastArchivedAt));
    expect(text).toContain('Archived by the database server itself');
  });

  it('recovers from the form into a new database with exactly the rows committed by the typed second, once under a retried submission', async () => {
    const view = await openRestoreForm();
    const answers = { restore_target: 'point-in-time', restore_time: manila(cut), restore_target_name: 'fbms_slack_1429', restore_reason: 'bad price update at 14:29' };
    const since = api.nextSeq;
    const first = await slack.submitView(OPERATOR, view, answers);
    expect(JSON.stringify(first.body)).toMatch(/Point-in-time recovery to .* into fbms_slack_1429.* started/);
    // Slack retries a submission it thinks timed out: the form's request id is claimed, nothing starts twice.
    const retried = await slack.submitView(OPERATOR, view, answers, { retryNum: 1 });
    expect(JSON.stringify(retried.body ?? '')).not.toMatch(/started|Already running/);
    const done = await api.waitFor((c) => (c.method === 'chat.update' || c.method === 'chat.postMessage') && /fbms_slack_1429/.test(String(c.args.text)) && /: Recovered to | failed: /.test(String(c.args.text)), { since, timeoutMs: 240_000 });
    expect(String(done.args.text)).toMatch(/Recovered to .* into `fbms_slack_1429` and verified/);
    expect(await labels(withDatabase(fbms, 'fbms_slack_1429'))).toEqual(['seed', 'b1', 'b2']);
    // The live database is as it was; the scratch cluster is gone; one job message only.
    expect(await labels(fbms)).toEqual(['seed', 'bad-price-update', 'b2', 'a1']);
    expect(await readdir(join(p.dataDir, 'pitr'))).toEqual([]);
    expect(api.callsOf('chat.postMessage').filter((c) => c.seq >= since && c.args.thread_ts === undefined && /Point-in-time recovery/.test(textOf(c)))).toHaveLength(1);
    expect(api.violations()).toEqual([]);
  }, 300_000);
});
