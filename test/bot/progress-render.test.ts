import { describe, expect, it } from 'vitest';
import { buildJobProgressMessage } from '../../src/bot/messages/job-message.ts';
import { ProgressMessage } from '../../src/bot/progress-message.ts';
import type { ChatApi } from '../../src/bot/slack-api.ts';
import { silentLogger } from '../../src/log/logger.ts';

const chat: ChatApi = { postMessage: async (a) => ({ ts: '1.1', channel: a.channel }), update: async () => undefined };
const heading = { title: 'x', requestedBy: 'U1' };

function follow(): { pm: ProgressMessage; clock: { now: number } } {
  const clock = { now: 0 };
  const pm = new ProgressMessage({ chat, channel: 'C1', logger: silentLogger, render: () => ({ text: '', blocks: [] }), clock: () => clock.now });
  return { pm, clock };
}

describe('progress facts', () => {
  it('a set shows each part with its own phase; an estimate the bytes passed is dropped', () => {
    const { pm } = follow();
    pm.reporter.phase?.('backup set', 'set-1: database + application');
    pm.reporter.phase?.('database: dumping', 'pg_dump 15');
    pm.reporter.phase?.('application: writing manifest');
    pm.reporter.bytes?.(33 * 1024 * 1024);
    const text = JSON.stringify(buildJobProgressMessage(heading, pm.state, 10_000, 17 * 1024 * 1024).blocks);
    expect(text).toContain('*database:* dumping · pg_dump 15');
    expect(text).toContain('*application:* writing manifest');
    expect(text).not.toMatch(/of ~/);
  });

  it('an in-place restore shows numbered steps, times, and says when downtime starts', () => {
    const { pm, clock } = follow();
    pm.reporter.phase?.('safety-backup', 'take a safety backup');
    pm.reporter.phase?.('dumping');
    clock.now = 12_000;
    pm.reporter.phase?.('restore-copy', 'restore into a copy');
    clock.now = 20_000;
    pm.reporter.phase?.('checking', 'row counts');
    let text = JSON.stringify(buildJobProgressMessage(heading, pm.state, 21_000).blocks);
    expect(text).toMatch(/white_check_mark: 1\. Safety backup of the live database · 12s/);
    expect(text).toMatch(/arrow_forward: \*3\. Verify the copy/);
    expect(text).not.toMatch(/Downtime starts now/);
    clock.now = 30_000;
    pm.reporter.phase?.('close-connections');
    text = JSON.stringify(buildJobProgressMessage(heading, pm.state, 30_500).blocks);
    expect(text).toMatch(/Downtime starts now/);
    expect(text).toMatch(/\*4\. Downtime: stop the application, swap the databases\*/);
    expect(text).toMatch(/white_small_square: 5\. Start/);
  });
});
