import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlackApi, type RecordedCall } from '../../src/bot/dev/fake-slack-api.ts';
import { SimulatedSlack, viewSubmissionPayload } from '../../src/bot/dev/simulated-slack.ts';
import { main } from '../../src/cli/main.ts';
import { createDatabase, createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { freePort } from '../../src/dev/pg-cluster-process.ts';
import { CHANNEL, OPERATOR, SIGNING_SECRET } from './harness.ts';
import { eventually, startFakeSocketServer } from './socket-server.ts';

const sink = () => new PassThrough() as unknown as NodeJS.WriteStream;

/**
 * A pg_dump that trickles its output (2 KiB every 15 ms): a backup of a few seconds that
 * reports progress hundreds of times, like a big database does over minutes.
 */
const SLOW_DUMP = `"$REAL" "$@" | node -e '
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", async () => {
  const all = Buffer.concat(chunks);
  for (let i = 0; i < all.length; i += 2048) { process.stdout.write(all.subarray(i, i + 2048)); await new Promise((r) => setTimeout(r, 15)); }
});'`;

let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.05 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

/**
 * Starts `bantay serve` from an environment (the path a deployment takes) and runs one backup
 * through Slack: over HTTP (signed requests), or in Socket Mode (SLACK_APP_TOKEN; the command
 * and the submission arrive as envelopes on the socket, and must be acked there).
 */
async function backupThroughServe(extraEnv: Record<string, string>, transport: 'http' | 'socket' = 'http'): Promise<{ updates: RecordedCall[]; final: RecordedCall; intervalHint: string; acked: string[] }> {
  const socket = transport === 'socket' ? await startFakeSocketServer() : undefined;
  const api = await new FakeSlackApi(socket ? { socketUrl: socket.url } : {}).start();
  const port = await freePort();
  const dir = tempDir();
  const env = {
    DATABASE_URL: source.url,
    BANTAY_STATE_URL: await createDatabase(),
    BANTAY_STORE: join(dir, 'store'),
    BANTAY_DATA_DIR: dir,
    BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
    BANTAY_PG_BIN: fakePgBinDir(SLOW_DUMP),
    SLACK_BOT_TOKEN: 'xoxb-serve-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_CHANNEL: CHANNEL,
    SLACK_API_URL: api.apiUrl,
    BANTAY_HTTP_PORT: String(port),
    BANTAY_OPERATORS: OPERATOR,
    BANTAY_LOG_LEVEL: 'warn',
    ...(socket ? { SLACK_APP_TOKEN: 'xapp-1-serve-test' } : {}),
    ...extraEnv,
  };
  const stop = new AbortController();
  const exit = main(['serve'], { env, signal: stop.signal, stdout: sink(), stderr: sink(), cwd: dir });
  try {
    for (let i = 0; i < 100; i += 1) {
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const slack = new SimulatedSlack({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, api, channelId: CHANNEL });
    const since = api.nextSeq;
    const connection = socket ? await eventually(() => socket.connections[0], 20_000) : undefined;
    if (connection) {
      const payload = { token: 'x', team_id: 'T0FBMS', team_domain: 'fbms', channel_id: CHANNEL, channel_name: 'incidents', user_id: OPERATOR, user_name: 'op', command: '/backup', text: 'database', api_app_id: 'A0BANTAY', response_url: api.responseUrl('socket-backup'), trigger_id: 'trig-socket-backup' };
      connection.send(JSON.stringify({ envelope_id: 'env-command', type: 'slash_commands', accepts_response_payload: true, payload }));
    } else {
      await slack.command(OPERATOR, '/backup', 'database');
    }
    const modal = await slack.waitForModal(since);
    if (!modal || !('view' in modal)) throw new Error('no modal');
    if (connection) connection.send(JSON.stringify({ envelope_id: 'env-submit', type: 'interactive', accepts_response_payload: true, payload: viewSubmissionPayload(OPERATOR, modal.view) }));
    else await slack.submitView(OPERATOR, modal.view);
    const final = await api.waitFor((c) => c.method === 'chat.update' && /stored/.test(String(c.args.text)), { since, timeoutMs: 60_000 });
    const post = api.calls.find((c) => c.seq >= since && c.method === 'chat.postMessage' && c.response.ts === final.args.ts)!;
    const updates = api.calls.filter((c) => c.method === 'chat.update' && c.args.ts === final.args.ts);
    const acked = (socket?.received ?? []).map((m) => String((m as { envelope_id?: string }).envelope_id));
    return { updates: [post, ...updates], final, intervalHint: extraEnv.BANTAY_PROGRESS_INTERVAL ?? 'default', acked };
  } finally {
    stop.abort();
    expect(await exit).toBe(0);
    await api.stop();
    await socket?.close();
  }
}

function gaps(calls: RecordedCall[]): number[] {
  return calls.slice(1).map((c, i) => c.at - calls[i]!.at);
}

describe('bantay serve throttles progress messages through its own configuration', () => {
  it('with nothing set, at most one update per 3 s per message, and the final result lands', async () => {
    const { updates, final } = await backupThroughServe({});
    expect(updates.length).toBeGreaterThanOrEqual(2); // the first post and the final, whatever the load
    for (const gap of gaps(updates)) expect(gap).toBeGreaterThanOrEqual(2950);
    expect(updates.at(-1)).toBe(final);
  }, 90_000);

  it('in Socket Mode too: the envelopes are acked on the socket, at most one update per 3 s per message, and the final result lands', async () => {
    const { updates, final, acked } = await backupThroughServe({}, 'socket');
    expect(acked).toEqual(expect.arrayContaining(['env-command', 'env-submit']));
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (const gap of gaps(updates)) expect(gap).toBeGreaterThanOrEqual(2950);
    expect(updates.at(-1)).toBe(final);
  }, 90_000);

  it('BANTAY_PROGRESS_INTERVAL=1s allows one a second, never more', async () => {
    const { updates, final } = await backupThroughServe({ BANTAY_PROGRESS_INTERVAL: '1s' });
    expect(updates.length).toBeGreaterThanOrEqual(4);
    for (const gap of gaps(updates)) expect(gap).toBeGreaterThanOrEqual(950);
    expect(updates.at(-1)).toBe(final);
  }, 90_000);
});
