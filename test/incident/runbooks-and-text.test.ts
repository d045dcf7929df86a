import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_RUNBOOK_DIR } from '../../src/config/incident-config.ts';
import { publicTextProblems } from '../../src/jobs/incident/public-text.ts';
import { loadRunbooks, parseRunbook } from '../../src/jobs/incident/runbooks.ts';

describe('runbook files', () => {
  it('ships the three scenarios of the procedures with their objectives, plus "other"', async () => {
    const runbooks = await loadRunbooks(SHIPPED_RUNBOOK_DIR);
    expect([...runbooks.keys()]).toEqual(['database-corruption', 'datacenter-outage', 'other', 'server-failure']);
    expect(Object.fromEntries([...runbooks].map(([k, r]) => [k, r.objectiveSeconds / 3600]))).toEqual({ 'database-corruption': 2, 'server-failure': 4, 'datacenter-outage': 6, other: 4 });
    const corruption = runbooks.get('database-corruption')!;
    expect(corruption.steps.filter((s) => s.action).map((s) => `${s.action}${s.to ? `:${s.to}` : ''}`)).toEqual([
      'stop-app', 'emergency-backup', 'restore-latest:new', 'restore-pitr:new', 'verify-restored', 'restore-latest:in-place', 'start-app',
    ]);
    expect(runbooks.get('datacenter-outage')!.steps.some((s) => s.action === 'restore-secondary')).toBe(true);
  });

  it('lists every problem of a broken file with its line', () => {
    const broken = '# Broken\nObjective: soon\n\n1. Fine step\n3. Skipped a number [restore-latest to=sideways]\n4. Unknown [reboot-everything]\n';
    let error: unknown;
    try {
      parseRunbook('broken', broken);
    } catch (err) {
      error = err;
    }
    expect((error as { details: string[] }).details).toEqual([
      'broken.md:2: the objective must read like "2 h" or "90 min"',
      'broken.md:5: unknown option "to=sideways" for restore-latest (restore actions take to=new or to=in-place)',
      'broken.md:5: steps must be numbered 1, 2, 3… (found 3 after 1)',
      'broken.md:6: unknown action "reboot-everything" (known: stop-app, start-app, emergency-backup, restore-latest, restore-pitr, verify-restored, restore-files, restore-secondary)',
      'broken.md:6: steps must be numbered 1, 2, 3… (found 4 after 2)',
    ]);
  });

  it('reads an operator\'s own directory and ignores files that are not runbooks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbooks-'));
    writeFileSync(join(dir, 'README.md'), 'not a runbook');
    writeFileSync(join(dir, 'notes.txt'), 'no');
    writeFileSync(join(dir, 'payment-outage.md'), '# Payment provider down\nObjective: 90 min\n1. Switch to cash receipts\n2. Take an emergency backup [emergency-backup]\n');
    const runbooks = await loadRunbooks(dir);
    expect([...runbooks.keys()]).toEqual(['payment-outage']);
    expect(runbooks.get('payment-outage')).toMatchObject({ title: 'Payment provider down', objectiveSeconds: 5400, steps: [{ number: 1 }, { number: 2, action: 'emergency-backup' }] });
  });
});

describe('public text', () => {
  it('accepts plain words and refuses ids, addresses, mentions, paths and internal names', () => {
    expect(publicTextProblems('Sales records are being restored; the shop works on paper receipts until 3 pm.', ['fbms_prod'])).toEqual([]);
    const leaks: Array<[string, string]> = [
      ['Restoring db-20261203T010000Z-abcd now', 'a backup id'],
      ['See https://status.internal/x', 'a URL'],
      ['Server 10.0.0.7 is down', 'an IP address'],
      ['Ask <@U0123ABCD>', 'a Slack mention'],
      ['Mail ops@example.com', 'an e-mail address'],
      ['Files in /srv/fbms/uploads are fine', 'a file path'],
      ['The FBMS_PROD database is back', 'an internal name'],
      ['password=hunter22 leaked', 'looks like a secret'],
    ];
    for (const [text, why] of leaks) expect(publicTextProblems(text, ['fbms_prod']).join('; '), text).toContain(why);
    expect(publicTextProblems('', [])).toEqual(['it is empty']);
  });
});

describe('incident configuration', () => {
  it('defaults to the shipped runbooks and no public page, and lists every bad variable', async () => {
    const { loadConfig } = await import('../../src/config/load-config.ts');
    const config = loadConfig({ env: {}, dotenv: false, cwd: tmpdir() });
    expect(config.incident).toEqual({ runbookDir: SHIPPED_RUNBOOK_DIR, publicStatus: false, serviceName: 'the service' });
    expect(() => loadConfig({ env: { BANTAY_PUBLIC_STATUS: 'maybe', BANTAY_STATUS_SERVICE_NAME: '<script>' }, dotenv: false, cwd: tmpdir() })).toThrow(
      expect.objectContaining({ details: expect.arrayContaining(['BANTAY_PUBLIC_STATUS: must be on or off', 'BANTAY_STATUS_SERVICE_NAME: must be at most 80 characters, without < > or line breaks']) }),
    );
  });
});
