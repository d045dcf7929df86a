import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FakeSlackApi } from '../../src/bot/dev/fake-slack-api.ts';
import { SimulatedSlack } from '../../src/bot/dev/simulated-slack.ts';
import { main } from '../../src/cli/main.ts';
import { createDatabase } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { freePort } from '../../src/dev/pg-cluster-process.ts';
import { CHANNEL, OPERATOR, SIGNING_SECRET } from './harness.ts';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('bantay serve', () => {
  it('lists every missing setting and exits 2', async () => {
    const stderr = capture();
    const code = await main(['serve'], { env: { BANTAY_DATA_DIR: tempDir() }, stderr: stderr.stream, stdout: capture().stream, signal: new AbortController().signal });
    expect(code).toBe(2);
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_CHANNEL', 'DATABASE_URL', 'BANTAY_OPERATORS']) expect(stderr.text()).toContain(name);
  });

  it('runs the bot in HTTP mode from the environment, answers signed requests, and stops on SIGTERM', async () => {
    const api = await new FakeSlackApi().start();
    const port = await freePort();
    const dir = tempDir();
    const env = {
      DATABASE_URL: await createDatabase(),
      BANTAY_STATE_URL: await createDatabase(),
      BANTAY_STORE: join(dir, 'store'),
      BANTAY_DATA_DIR: dir,
      BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
      SLACK_BOT_TOKEN: 'xoxb-serve-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: api.apiUrl,
      BANTAY_HTTP_PORT: String(port),
      BANTAY_OPERATORS: OPERATOR,
      BANTAY_LOG_LEVEL: 'warn',
    };
    const stop = new AbortController();
    const stderr = capture();
    const exit = main(['serve'], { env, signal: stop.signal, stdout: capture().stream, stderr: stderr.stream, cwd: dir });
    let healthy = false;
    for (let i = 0; i < 100 && !healthy; i += 1) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    expect(healthy).toBe(true);
    const slack = new SimulatedSlack({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, api, channelId: CHANNEL });
    expect((await slack.command(OPERATOR, '/backups')).status).toBe(200);
    const reply = await api.waitFor((c) => c.method === 'response_url');
    expect(JSON.stringify(reply.args)).toMatch(/No backups yet/);
    stop.abort();
    expect(await exit).toBe(0);
    expect(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'up', () => 'down')).toBe('down');
    await api.stop();
  });
});
