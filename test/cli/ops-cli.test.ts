import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { putFakeBackup } from '../support/fake-backups.ts';
import { tempDir } from '../support/job-deps.ts';
import { bantay } from '../support/cli.ts';
import { NO_KEY } from '../support/trust.ts';

const bantayAt = (args: string[], env: Record<string, string>, cwd: string) => bantay(args, env, cwd, { logLevel: 'warn' });


describe('bantay schedule, prune, sync and monitor', () => {
  it('schedule prints every job with its next runs in BANTAY_TZ; a bad cron string is a clear configuration error', async () => {
    const cwd = tempDir();
    const text = await bantayAt(['schedule'], { BANTAY_SCHEDULE_UPLOADS: 'off' }, cwd);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Times in Asia\/Manila/);
    expect(text.stdout).toMatch(/drill\s+0 9 \* \* 1#1\s+\d{4}-\d\d-0[1-7] 09:00/);
    expect(text.stdout).toMatch(/uploads\s+off\s+-/);
    const json = await bantayAt(['schedule', '--json', '--count', '2'], {}, cwd);
    const jobs = JSON.parse(json.stdout) as Array<{ job: string; next: string[] }>;
    expect(jobs.find((j) => j.job === 'database')!.next.map((d) => new Date(d).getUTCHours())).toEqual([18, 18]);
    const bad = await bantayAt(['schedule'], { BANTAY_SCHEDULE_DATABASE: '61 2 * * *' }, cwd);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/BANTAY_SCHEDULE_DATABASE: is not a valid cron expression \(61 is an invalid expression for minute\)/);
  });

  it('prune --dry-run explains, prune deletes; sync copies to the secondary; monitor exits 1 on problems', async () => {
    const cwd = tempDir();
    const store = createLocalStore(join(cwd, 'var/backups'));
    const old = await putFakeBackup(store, { createdAt: new Date(Date.now() - 400 * 86_400_000) });
    const recent = await putFakeBackup(store, { createdAt: new Date(Date.now() - 3_600_000), sizeBytes: 2_000_000 });
    const secondaryDir = join(cwd, 'dr');
    const env = { BANTAY_SECONDARY_STORE: secondaryDir };

    const dry = await bantayAt(['prune', '--dry-run'], env, cwd);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Dry run: would delete 1 item(s) at the primary, keeping 1.');
    expect(dry.stdout).toMatch(new RegExp(`${old.id}\\s+database .*daily backup, 400 days old: outside every rule`));

    const noMount = await bantayAt(['sync'], env, cwd);
    expect(noMount.code).toBe(1);
    expect(noMount.stderr).toMatch(/secondary directory .*dr does not exist/);
    mkdirSync(secondaryDir);
    const sync = await bantayAt(['sync', '--json'], env, cwd);
    expect(sync.code).toBe(0);
    // Copied, then the same retention as the primary's applied at the secondary.
    expect(JSON.parse(sync.stdout)).toMatchObject({ copiedBackups: [recent.id, old.id], failed: [], lag: { lagSeconds: 0 }, prune: { location: 'secondary', deleted: [{ id: old.id }] } });
    expect((await listBackups(createLocalStore(secondaryDir), NO_KEY)).map((m) => m.id)).toEqual([recent.id]);

    const prune = await bantayAt(['prune'], env, cwd);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('Deleted 1 item(s) at the primary');
    expect((await listBackups(store, NO_KEY)).map((m) => m.id)).toEqual([recent.id]);
    const pruneSecondary = await bantayAt(['prune', '--secondary', '--json'], env, cwd);
    expect(JSON.parse(pruneSecondary.stdout)).toMatchObject({ location: 'secondary', deleted: [] });

    // Only the database is scheduled here and it is fresh; application and uploads were never backed up.
    const monitor = await bantayAt(['monitor'], { ...env, BANTAY_SCHEDULE_FULL: 'off' }, cwd);
    expect(monitor.code).toBe(1);
    expect(monitor.stdout).toMatch(/\[CRITICAL\] No application backup since the scheduled run of/);
    expect(monitor.stdout).toMatch(/What to do: /);
    expect(monitor.stdout).not.toMatch(/No database backup/);
    const quiet = await bantayAt(['monitor', '--json'], { ...env, BANTAY_SCHEDULE_FULL: 'off', BANTAY_SCHEDULE_APPLICATION: 'off', BANTAY_SCHEDULE_UPLOADS: 'off' }, cwd);
    expect([quiet.code, quiet.stdout]).toEqual([0, '[]\n']);
  });

  it('sync without a secondary location says what to set', async () => {
    const result = await bantayAt(['sync'], {}, tempDir());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/BANTAY_SECONDARY_STORE is not set/);
  });
});
