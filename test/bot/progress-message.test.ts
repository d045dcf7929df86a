import { describe, expect, it } from 'vitest';
import type { BotJobs } from '../../src/bot/bot-jobs.ts';
import { JobRunner } from '../../src/bot/job-runner.ts';
import { ProgressMessage } from '../../src/bot/progress-message.ts';
import type { ChatApi } from '../../src/bot/slack-api.ts';
import { silentLogger } from '../../src/log/logger.ts';

/** A hand-written ChatApi that records calls and can answer like a rate-limited Slack. */
function fakeChat(options: { rateLimitedUntil?: number } = {}) {
  const calls: Array<{ kind: 'post' | 'update'; text: string; at: number }> = [];
  const maybeLimit = () => {
    if (options.rateLimitedUntil !== undefined && Date.now() < options.rateLimitedUntil) {
      throw Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter: 0.3 });
    }
  };
  const chat: ChatApi = {
    async postMessage(args) {
      calls.push({ kind: 'post', text: args.text, at: Date.now() });
      maybeLimit();
      return { ts: '1.1', channel: args.channel };
    },
    async update(args) {
      calls.push({ kind: 'update', text: args.text, at: Date.now() });
      maybeLimit();
    },
  };
  return { chat, calls };
}

const render = (state: { phase: string; bytes?: number }) => ({ text: `${state.phase} ${state.bytes ?? 0}`, blocks: [] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ProgressMessage', () => {
  it('coalesces a burst of 100 000 reports into a few calls, newest state last', async () => {
    const { chat, calls } = fakeChat();
    const pm = new ProgressMessage({ chat, channel: 'C1', render, logger: silentLogger, intervalMs: 200 });
    pm.start();
    pm.reporter.phase?.('dumping');
    for (let i = 1; i <= 100_000; i += 1) pm.reporter.bytes?.(i * 65_536);
    await sleep(700);
    pm.reporter.bytes?.(42);
    await pm.finish({ text: 'done', blocks: [] });
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(calls[0]!.kind).toBe('post');
    expect(calls.some((c) => c.text === `dumping ${100_000 * 65_536}`)).toBe(true);
    expect(calls.at(-1)!.text).toBe('done');
    for (let i = 2; i < calls.length - 1; i += 1) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(190);
  });

  it('reporter calls never wait on Slack, and a rate-limited Slack is retried after Retry-After until the final state lands', async () => {
    const { chat, calls } = fakeChat({ rateLimitedUntil: Date.now() + 1000 });
    const pm = new ProgressMessage({ chat, channel: 'C1', render, logger: silentLogger, intervalMs: 100 });
    pm.start();
    const started = performance.now();
    for (let i = 0; i < 10_000; i += 1) pm.reporter.bytes?.(i);
    expect(performance.now() - started).toBeLessThan(200);
    await sleep(500);
    // With Retry-After 0.3 s, half a second of storm is at most a couple of attempts.
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(await pm.finish({ text: 'final', blocks: [] })).toBe('1.1');
    expect(calls.at(-1)!.text).toBe('final');
  });
});

describe('JobRunner during a Slack outage', () => {
  it('frees the job\'s resources as soon as the job ends, while its final message still waits for Slack', async () => {
    let slackUp = false;
    const outage = () => Object.assign(new Error('slack down'), { data: { error: 'service_unavailable' } });
    const down: ChatApi = {
      postMessage: async (args) => (slackUp ? { ts: '1.1', channel: args.channel } : Promise.reject(outage())),
      update: async () => (slackUp ? undefined : Promise.reject(outage())),
    };
    let finished = 0;
    const jobs = {
      unavailable: () => undefined,
      run: async () => {
        finished += 1;
        return { headline: 'done', ok: true, fields: [], details: [] };
      },
    } as unknown as BotJobs;
    const runner = new JobRunner({ jobs, chat: down, channel: 'C1', logger: silentLogger, progressIntervalMs: 100 });
    const first = runner.start({ type: 'backup', variant: 'database' }, 'U1');
    expect(first.started).toBe(true);
    for (let i = 0; i < 50 && finished === 0; i += 1) await sleep(10);
    await sleep(50);
    // The backup is over; only its Slack message is pending (retried for minutes).
    expect(runner.busyWith({ type: 'backup', variant: 'emergency' })).toBeUndefined();
    const second = runner.start({ type: 'backup', variant: 'emergency' }, 'U2');
    expect(second.started).toBe(true);
    slackUp = true;
    await runner.stop();
  }, 20_000);
});
