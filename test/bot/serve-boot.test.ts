import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlackApi } from '../../src/bot/dev/fake-slack-api.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { main } from '../../src/cli/main.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { KeyRing } from '../../src/crypto/keys.ts';
import { createDatabase, createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { freePort } from '../../src/dev/pg-cluster-process.ts';
import { CHANNEL, OPERATOR } from './harness.ts';

let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.02 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

describe('bantay serve boots without Slack', () => {
  it('in Socket Mode with Slack unreachable, the ops HTTP server answers and scheduled backups run', async () => {
    const api = await new FakeSlackApi({ socketUrl: 'ws://127.0.0.1:9/never' }).start();
    api.failHttp('*', 503, 100_000); // Slack is down for the whole test
    const port = await freePort();
    const dir = tempDir();
    const key = newKey();
    const env = {
      DATABASE_URL: source.url,
      BANTAY_STATE_URL: await createDatabase(),
      BANTAY_STORE: join(dir, 'store'),
      BANTAY_DATA_DIR: dir,
      BANTAY_ENCRYPTION_KEY: key.key.toString('base64'),
      SLACK_BOT_TOKEN: 'xoxb-serve-test',
      SLACK_APP_TOKEN: 'xapp-1-serve-test',
      SLACK_CHANNEL: CHANNEL,
      SLACK_API_URL: api.apiUrl,
      BANTAY_HTTP_PORT: String(port),
      BANTAY_OPERATORS: OPERATOR,
      BANTAY_SCHEDULE_DATABASE: '*/2 * * * * *',
      BANTAY_LOG_LEVEL: 'silent',
    };
    const stop = new AbortController();
    const exit = main(['serve'], { env, signal: stop.signal, stdout: new PassThrough() as never, stderr: new PassThrough() as never, cwd: dir });
    try {
      let healthy = false;
      for (let i = 0; i < 100 && !healthy; i += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthy).toBe(true);
      const store = createLocalStore(join(dir, 'store'));
      let backups = 0;
      for (let i = 0; i < 150 && backups === 0; i += 1) {
        backups = (await listBackups(store, { keyRing: new KeyRing(key, []) }).catch(() => [])).length;
        if (backups === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(backups).toBeGreaterThan(0);
      expect(api.callsOf('apps.connections.open').every((c) => c.status === 503)).toBe(true);
    } finally {
      const a = Date.now();
      stop.abort();
      expect(await exit).toBe(0);
      // Final messages nobody could deliver are given up (and logged) a few seconds after stop.
      expect(Date.now() - a).toBeLessThan(20_000);
      await api.stop();
    }
  }, 60_000);
});
