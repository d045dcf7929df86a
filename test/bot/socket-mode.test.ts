import { afterEach, describe, expect, it } from 'vitest';
import { createBotApp, type BotApp } from '../../src/bot/app.ts';
import { createBotJobs } from '../../src/bot/bot-jobs.ts';
import { FakeSlackApi } from '../../src/bot/dev/fake-slack-api.ts';
import { CHANNEL, makeBotDeps, OPERATOR, RECOVERY, STRANGER } from './harness.ts';
import { eventually, startFakeSocketServer } from './socket-server.ts';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe('Socket Mode', () => {
  it('opens a connection via apps.connections.open, acks a slash command envelope over the socket, and answers the user', async () => {
    const socket = await startFakeSocketServer();
    cleanup.push(() => socket.close());
    const api = await new FakeSlackApi({ socketUrl: socket.url }).start();
    await startSocketBot(api);
    expect(api.callsOf('apps.connections.open')).toHaveLength(1);
    const connection = await eventually(() => socket.connections[0]);

    connection.send(
      JSON.stringify({
        envelope_id: 'env-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          token: 'x', team_id: 'T0FBMS', team_domain: 'fbms', channel_id: CHANNEL, channel_name: 'incidents', user_id: STRANGER, user_name: 'stranger',
          command: '/backups', text: '', api_app_id: 'A0BANTAY', response_url: api.responseUrl('socket-1'), trigger_id: 'trig-socket-1',
        },
      }),
    );
    const ack = await eventually(() => socket.received.find((m) => (m as { envelope_id?: string }).envelope_id === 'env-1'));
    expect(ack).toMatchObject({ envelope_id: 'env-1' });
    const reply = await api.waitFor((c) => c.method === 'response_url');
    expect(JSON.stringify(reply.args)).toMatch(/only operators and approvers/);
  });

  it('rides out a Slack outage while reconnecting (apps.connections.open answering 503) instead of crashing', async () => {
    const rejections = watchRejections();
    const socket = await startFakeSocketServer();
    cleanup.push(() => socket.close());
    const api = await new FakeSlackApi({ socketUrl: socket.url }).start();
    await startSocketBot(api);
    const first = await eventually(() => socket.connections[0]);
    // Slack drops the socket, and its API is down for the next few calls.
    api.failHttp('apps.connections.open', 503, 4);
    first.terminate();
    await eventually(() => socket.connections[1] ?? (rejections.length > 0 ? true : undefined), 40_000);
    expect(api.callsOf('apps.connections.open').map((c) => c.status)).toEqual([200, 503, 503, 503, 503, 200]);
    expect(rejections).toEqual([]);
  }, 60_000);

  it('keeps reconnecting when Slack refuses the app token for a while (invalid_auth is not retried by the SDK)', async () => {
    const { rejections, socket, api, bot, first } = await connectedBot();
    api.failNext('apps.connections.open', 'invalid_auth', 1);
    first.terminate();
    await eventually(() => socket.connections[1] ?? (rejections.length > 0 ? true : undefined), 40_000);
    expect(rejections).toEqual([]);
    expect(api.callsOf('apps.connections.open').map((c) => (c.response.error as string | undefined) ?? 'ok')).toEqual(['ok', 'invalid_auth', 'ok']);
    await bot.stop();
  }, 60_000);

  it('stops cleanly while a reconnect waits for Slack\'s hello (the pending attempt is dropped, not left rejecting)', async () => {
    const { rejections, socket, api, bot, first } = await connectedBot();
    socket.silent = true;
    first.terminate();
    await eventually(() => socket.connections[1], 20_000);
    await bot.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(rejections).toEqual([]);
  }, 60_000);
});

/** A bot connected in Socket Mode to a fake Slack, with the process's unhandled rejections watched. */
async function connectedBot() {
  const rejections = watchRejections();
  const socket = await startFakeSocketServer();
  cleanup.push(() => socket.close());
  const api = await new FakeSlackApi({ socketUrl: socket.url }).start();
  const bot = await startSocketBot(api);
  const first = await eventually(() => socket.connections[0]);
  return { rejections, socket, api, bot, first };
}

function watchRejections(): unknown[] {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => void rejections.push(reason ?? 'undefined');
  process.prependListener('unhandledRejection', onRejection);
  cleanup.push(async () => void process.removeListener('unhandledRejection', onRejection));
  return rejections;
}

async function startSocketBot(api: FakeSlackApi): Promise<BotApp> {
  const { deps, close } = await makeBotDeps();
  const bot: BotApp = createBotApp({
    mode: { type: 'socket', appToken: 'xapp-1-test' },
    botToken: 'xoxb-test',
    apiUrl: api.apiUrl,
    settings: { channel: CHANNEL, operators: [OPERATOR], approvers: [], approvalTtlSeconds: 60 },
    deps,
    jobs: createBotJobs(deps, { databaseUrl: undefined, recovery: RECOVERY }),
    logger: deps.logger,
  });
  cleanup.push(close, () => api.stop(), () => bot.stop());
  await bot.start();
  return bot;
}
