import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { alertSinkOf, createNotifier } from '../../src/bot/notifier.ts';
import type { ChatApi } from '../../src/bot/slack-api.ts';
import { silentLogger } from '../../src/log/logger.ts';

function recordingChat(fail = false) {
  const posts: Array<{ channel: string; text: string }> = [];
  const chat: ChatApi = {
    async postMessage(args) {
      if (fail) throw Object.assign(new Error('slack down'), { data: { error: 'service_unavailable' } });
      posts.push({ channel: args.channel, text: args.text });
      return { ts: `${posts.length}.0`, channel: args.channel };
    },
    async update() {},
  };
  return { chat, posts };
}

describe('Notifier', () => {
  it('posts alerts to the channel, once per dedupe key and text within the window', async () => {
    let now = 0;
    const { chat, posts } = recordingChat();
    const notifier = createNotifier({ chat, channel: 'C1', logger: silentLogger, dedupeWindowMs: 1000, clock: () => now });
    const alert = { severity: 'critical' as const, title: 'Backup overdue', text: 'No database backup for 26 h', dedupeKey: 'overdue:database' };
    expect(await notifier.notify(alert)).toMatchObject({ posted: true });
    expect(await notifier.notify(alert)).toEqual({ posted: false, skipped: 'duplicate' });
    expect(await notifier.notify({ ...alert, text: 'No database backup for 27 h' })).toMatchObject({ posted: true });
    now = 5000;
    expect(await notifier.notify({ ...alert, text: 'No database backup for 27 h' })).toMatchObject({ posted: true });
    expect(await notifier.notify({ ...alert, dedupeKey: undefined })).toMatchObject({ posted: true });
    expect(posts.map((p) => p.text)).toEqual(['CRITICAL: Backup overdue', 'CRITICAL: Backup overdue', 'CRITICAL: Backup overdue', 'CRITICAL: Backup overdue']);
  });

  it('an alert Slack did not take is not a duplicate: the retry posts it', async () => {
    let down = true;
    const posts: string[] = [];
    const chat: ChatApi = {
      async postMessage(args) {
        if (down) throw Object.assign(new Error('slack down'), { data: { error: 'service_unavailable' } });
        posts.push(args.text);
        return { ts: '1.0', channel: args.channel };
      },
      async update() {},
    };
    const sink = alertSinkOf(createNotifier({ chat, channel: 'C1', logger: silentLogger }));
    const alert = { severity: 'critical' as const, title: 'Backup overdue', text: '26 h', dedupeKey: 'stale:database' };
    await expect(sink.send(alert)).rejects.toThrow(/not delivered/);
    down = false;
    await sink.send(alert);
    expect(posts).toEqual(['CRITICAL: Backup overdue']);
  });

  it('a problem that comes back after it was resolved is announced again, even with the same text within the hour', async () => {
    const { chat, posts } = recordingChat();
    const sink = alertSinkOf(createNotifier({ chat, channel: 'C1', logger: silentLogger }));
    const firing = { severity: 'critical' as const, title: 'The primary backup store is unreachable', text: 'Listing failed: ECONNREFUSED', dedupeKey: 'primary-unreachable' };
    const resolved = { ...firing, text: 'This is no longer a problem (lasted 15m).', resolved: true };
    await sink.send(firing);
    await sink.send(resolved);
    await sink.send(firing);
    await sink.send(resolved);
    expect(posts.map((p) => p.text)).toEqual([
      'CRITICAL: The primary backup store is unreachable',
      'INFO: Resolved: The primary backup store is unreachable',
      'CRITICAL: The primary backup store is unreachable',
      'INFO: Resolved: The primary backup store is unreachable',
    ]);
  });

  it('also sends the alert as JSON to the webhook, and never throws when Slack is down', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { chat } = recordingChat(true);
    const notifier = createNotifier({ chat, channel: 'C1', logger: silentLogger, webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
    const outcome = await notifier.notify({ severity: 'warning', title: 'Drill failed', text: 'RTO 5h > 4h', dedupeKey: 'drill' });
    expect(outcome).toEqual({ posted: false, skipped: 'service_unavailable' });
    expect(received).toEqual([expect.objectContaining({ source: 'bantay', severity: 'warning', title: 'Drill failed', text: 'RTO 5h > 4h', dedupeKey: 'drill' })]);
    server.close();
  });

  it('serves monitoring as its AlertSink: resolved alerts as info, undelivered alerts reject so they are retried', async () => {
    const { chat, posts } = recordingChat();
    const sink = alertSinkOf(createNotifier({ chat, channel: 'C1', logger: silentLogger }));
    await sink.send({ severity: 'critical', title: 'Backup overdue', text: '26 h', dedupeKey: 'stale:database' });
    await sink.send({ severity: 'critical', title: 'Backup overdue', text: 'ok now', dedupeKey: 'stale:database', resolved: true });
    expect(posts.map((p) => p.text)).toEqual(['CRITICAL: Backup overdue', 'INFO: Resolved: Backup overdue']);
    const down = alertSinkOf(createNotifier({ chat: recordingChat(true).chat, channel: 'C1', logger: silentLogger }));
    await expect(down.send({ severity: 'warning', title: 't', text: 'x', dedupeKey: 'k' })).rejects.toThrow(/service_unavailable/);
  });
});
