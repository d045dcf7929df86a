import { afterEach, describe, expect, it } from 'vitest';
import { OPERATOR, STRANGER, startTestBot, textOf, type TestBot } from './harness.ts';
import { putFakeBackup } from '../support/fake-backups.ts';

let t: TestBot;

afterEach(async () => {
  expect(t.api.violations()).toEqual([]);
  await t.stop();
});

describe('App Home access', () => {
  it('shows the dashboard to operators only; a stranger gets a refusal, is audited, and is not republished to', async () => {
    t = await startTestBot();
    const backup = await putFakeBackup(t.deps.store, { createdAt: new Date(Date.now() - 3_600_000), sizeBytes: 1_000_000 }, t.deps);
    await t.bot.services.catalog.refresh();

    let since = t.api.nextSeq;
    await t.slack.openHome(STRANGER);
    const refused = await t.api.waitFor((c) => c.method === 'views.publish', { since });
    expect(refused.args.user_id).toBe(STRANGER);
    expect(textOf(refused)).not.toContain(backup.id);
    expect(textOf(refused)).not.toContain(t.deps.store.description);
    expect(textOf(refused)).toMatch(/operators and approvers/);
    const audit = await t.deps.state.query<{ status: string; performed_by: string }>(`SELECT status, performed_by FROM backup_audit WHERE status = 'refused'`);
    expect(audit).toEqual([expect.objectContaining({ performed_by: `slack:${STRANGER}` })]);

    since = t.api.nextSeq;
    await t.slack.openHome(OPERATOR);
    const shown = await t.api.waitFor((c) => c.method === 'views.publish' && c.args.user_id === OPERATOR, { since });
    expect(textOf(shown)).toContain(backup.id);

    // A change republishes the dashboard to recent viewers: the operator, never the stranger.
    since = t.api.nextSeq;
    t.bot.services.home.refresh();
    await t.api.waitFor((c) => c.method === 'views.publish', { since });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.api.calls.filter((c) => c.seq >= since && c.method === 'views.publish').map((c) => c.args.user_id)).toEqual([OPERATOR]);
  });
});

