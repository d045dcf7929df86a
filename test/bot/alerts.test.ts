import { afterEach, describe, expect, it } from 'vitest';
import { createSlackAlertSink } from '../../src/bot/alerts/slack-alert-sink.ts';
import { applyAlertActions, decideAlerts, loadAlertState } from '../../src/jobs/monitor/alert-state.ts';
import type { Problem } from '../../src/jobs/monitor/checks.ts';
import { CHANNEL, startTestBot, textOf, type TestBot } from './harness.ts';

let t: TestBot;
afterEach(async () => {
  expect(t.api.violations()).toEqual([]);
  await t.stop();
});

const stale = (kind: string, fingerprint = 'f1'): Problem => ({
  key: `stale:${kind}`,
  severity: 'critical',
  title: `No ${kind} backup since the scheduled run of 2026-12-02 02:00`,
  text: `The ${kind} backup scheduled for 02:00 has not produced a backup.`,
  remedy: `Check that bantay serve is running (GET /healthz, bantay schedule) and look for a failed run in #incidents; then take one now: bantay backup ${kind} (or /backup ${kind}).`,
  fingerprint,
});

describe('alerts in Slack', () => {
  it('one message per cause, updated in place, resolved in place with a thread reply; on-call pinged once; no keys or CLI syntax', async () => {
    t = await startTestBot();
    let clock = new Date('2026-12-02T10:00:00Z');
    const sink = createSlackAlertSink({ chat: t.bot.services.chat, channel: CHANNEL, state: t.deps.state, logger: t.deps.logger, oncall: ['S0ONCALL'], timeZone: 'Asia/Manila', clock: () => clock });
    const pass = async (problems: Problem[]) => applyAlertActions(t.deps.state, sink, decideAlerts(await loadAlertState(t.deps.state), problems), clock);

    const since = t.api.nextSeq;
    await pass([stale('database'), stale('application'), stale('uploads')]);
    const posts = t.api.callsOf('chat.postMessage').filter((c) => c.seq >= since);
    expect(posts).toHaveLength(1);
    const ts = posts[0]!.response.ts as string;
    expect(String(posts[0]!.args.text)).toContain('<!subteam^S0ONCALL>');
    expect(JSON.stringify(t.slack.currentMessage(CHANNEL, ts))).toMatch(/3 scheduled backups are late/);
    expect(textOf(t.api.callsOf('chat.update').at(-1)!)).toMatch(/first seen 2026-12-02 18:00 · last seen 2026-12-02 18:00 \(Asia\/Manila\)/);

    clock = new Date('2026-12-02T11:00:00Z');
    await pass([stale('database', 'f2'), stale('application', 'f2'), stale('uploads', 'f2')]);
    clock = new Date('2026-12-02T13:00:00Z');
    await pass([]);
    const after = t.api.calls.filter((c) => c.seq >= since && c.method.startsWith('chat.'));
    expect(after.filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === undefined)).toHaveLength(1);
    const updates = after.filter((c) => c.method === 'chat.update');
    expect(updates.every((u) => u.args.ts === ts)).toBe(true);
    const final = t.slack.currentMessage(CHANNEL, ts)!;
    const finalText = JSON.stringify(final);
    expect(finalText).toMatch(/Resolved: /);
    expect(finalText).not.toMatch(/Resolved: Resolved/);
    expect(finalText).toMatch(/first seen 2026-12-02 18:00 · resolved 2026-12-02 21:00/);
    const reply = after.find((c) => c.method === 'chat.postMessage' && c.args.thread_ts === ts)!;
    expect(String(reply.args.text)).toMatch(/Resolved after 3\.0h|Resolved after 3h/);
    const everything = after.map(textOf).join(' ');
    expect(everything).not.toMatch(/stale:|key `/);
    expect(everything).not.toMatch(/bantay (serve|schedule|backup)/);
    expect(everything).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
  });
});
