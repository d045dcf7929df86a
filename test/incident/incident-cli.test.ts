import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { bantay as run } from '../support/cli.ts';
import { adminUrl, checksumsOf, createDatabase, createFbmsDatabase, dropDatabase, sql, uniqueName } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';

/**
 * A simulated "database corruption" incident run entirely from the console, with Slack
 * unreachable (SLACK_API_URL points at a closed port): what the README's chapter walks a
 * newcomer through. Real PostgreSQL, the real CLI in-process, the local store.
 */
let source: { url: string; name: string };
let stateDb: string;
let env: Record<string, string>;
let cwd: string;
const created: string[] = [];
const bantay = (args: string[], extra: Record<string, string> = {}) => run(args, { ...env, ...extra }, cwd);

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.2 });
  const stateUrl = await createDatabase();
  stateDb = new URL(stateUrl).pathname.slice(1);
  cwd = tempDir();
  env = { DATABASE_URL: source.url, BANTAY_STATE_URL: stateUrl, BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'warn', SLACK_API_URL: 'http://127.0.0.1:9/api/' };
});
afterAll(async () => {
  for (const name of [source.name, stateDb, ...created]) await dropDatabase(name);
  await rm(cwd, { recursive: true, force: true });
});

describe('incident mode from the console', () => {
  it('runs a database-corruption incident end to end and writes its recovery report', { timeout: 180_000 }, async () => {
    const backup = await bantay(['backup', 'database', '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const clean = JSON.parse(backup.stdout) as { id: string; createdAt: string };
    const before = await checksumsOf(source.url);
    await new Promise((r) => setTimeout(r, 1100));
    // The mistake: every price doubled.
    await sql(source.url, 'UPDATE sales SET total = total * 2');

    const declared = await bantay(['incident', 'declare', '--scenario', 'database-corruption', '--summary', 'Sale totals doubled by a bad price update']);
    expect(declared.code, declared.stderr).toBe(0);
    const id = /Incident declared: (inc-\S+)/.exec(declared.stdout)![1]!;
    expect(declared.stdout).toContain('Database corruption (sev1): INVESTIGATING');
    expect(declared.stdout).toMatch(/\[ \] 2\. Stop the application .* \[stop-app\]/);
    expect(declared.stdout).toMatch(/of the 2h00m objective/);

    const second = await bantay(['incident', 'declare', '--scenario', 'other', '--summary', 'again']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('An incident is already open: Database corruption');
    expect((await bantay(['incident', 'declare', '--scenario', 'nope', '--summary', 'x'])).stderr).toContain('There is no runbook for the scenario "nope"');

    expect((await bantay(['incident', 'note', 'Totals', 'doubled', 'since', '14:29'])).code).toBe(0);
    expect((await bantay(['incident', 'done', '1', '--note', 'confirmed with the owner'])).code).toBe(0);
    const twice = await bantay(['incident', 'done', '1']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('Step 1 was already marked done');
    expect((await bantay(['incident', 'done', '99'])).stderr).toContain('has no step 99');

    const noHook = await bantay(['incident', 'run', '2']);
    expect(noHook.code).toBe(2);
    expect(noHook.stderr).toContain('BANTAY_APP_STOP_CMD');
    const stopped = await bantay(['incident', 'run', '2'], { BANTAY_APP_STOP_CMD: 'true' });
    expect(stopped.code, stopped.stderr).toBe(0);

    const emergency = await bantay(['incident', 'run', '3']);
    expect(emergency.code, emergency.stderr).toBe(0);

    const dry = await bantay(['incident', 'run', '4', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`Runs: bantay restore ${clean.id} --target-db recovered_\\d{8}_\\d{6}`));
    const target = uniqueName('incident_recovered');
    created.push(target);
    const restored = await bantay(['incident', 'run', '4', '--target-db', target]);
    expect(restored.code, restored.stderr).toBe(0);
    // The latest clean backup, not the emergency one taken after detection.
    expect(await checksumsOf(withDatabase(adminUrl(), target))).toEqual(before);

    const pitr = await bantay(['incident', 'run', '5', '--target-db', uniqueName('never')]);
    expect(pitr.code).not.toBe(0);

    // Step 6 checks the database step 4 restored, against the backup it came from (not the latest one).
    expect((await bantay(['incident', 'run', '6', '--dry-run'])).stdout).toContain(`Runs: bantay verify ${clean.id} --database ${target}`);
    await sql(withDatabase(adminUrl(), target), 'CREATE TABLE stray (x int); INSERT INTO stray VALUES (1)');
    const differs = await bantay(['incident', 'run', '6']);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain(`Database ${target} DOES NOT MATCH backup ${clean.id}`);
    await sql(withDatabase(adminUrl(), target), 'DROP TABLE stray');
    const verified = await bantay(['incident', 'run', '6']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`Database ${target} MATCHES backup ${clean.id}`);

    const handover = await bantay(['incident', 'commander', 'U0HANDOVER1']);
    expect(handover.stdout).toContain('The incident commander is now slack:U0HANDOVER1');

    const leak = await bantay(['incident', 'update', 'identified', `Restoring ${source.name} from backup`]);
    expect(leak.code).toBe(2);
    expect(leak.stderr).toContain('internal name');
    const update = await bantay(['incident', 'update', 'identified', 'We found the cause and are restoring the correct sales figures.']);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toMatch(/E-mail subject: We have found the cause of a problem with the service/);
    expect(update.stdout).toContain('Support reply:');

    const shown = await bantay(['incident', 'show']);
    expect(shown.stdout).toMatch(/\[x\] 1\. Confirm/);
    expect(shown.stdout).toMatch(/\[x\] 4\. Restore the latest clean backup/);
    expect(shown.stdout).toMatch(/\[ \] 5\. Or: recover/);
    expect(shown.stdout).toContain('Step 5 failed');

    const resolved = await bantay(['incident', 'resolve', '--root-cause', 'A price update ran without a WHERE clause', '--prevention', 'Reviewed migrations', '--lessons', 'Stop the app first', '--impact', 'Totals wrong for 20 minutes', '--json']);
    expect(resolved.code, resolved.stderr).toBe(0);
    const report = JSON.parse(resolved.stdout);
    expect(report.id).toBe(id);
    expect(report.details).toMatchObject({ scenario: 'database-corruption', commanders: [expect.stringMatching(/^cli:/), 'slack:U0HANDOVER1'], impact: 'Totals wrong for 20 minutes' });
    expect(report.actions.recoveries).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'restore', backupId: clean.id, target, inPlace: false, recoveredPoint: clean.createdAt, status: 'succeeded' })]));
    // Data loss: detection minus the recovered point (the clean backup's time), measured.
    const detected = new Date(report.details.detectedAt).getTime();
    expect(report.dataLoss.state).toBe('measured');
    expect(report.dataLoss.seconds).toBe(Math.ceil((detected - new Date(clean.createdAt).getTime()) / 1000));
    expect(report.dataLoss.text).toContain(`the new database ${target} (not put in place)`);
    expect(report.timeToRecovery).toMatchObject({ objectiveSeconds: 7200, withinObjective: true });
    expect(report.verification).toEqual(expect.arrayContaining([expect.objectContaining({ backupId: clean.id, result: 'succeeded', check: expect.stringContaining(`check of database ${target}`) })]));
    expect(report.verification).toEqual(expect.arrayContaining([expect.objectContaining({ backupId: clean.id, result: 'failed', check: expect.stringContaining(`check of database ${target}`) })]));
    const kinds = new Set(report.actions.timeline.map((e: { kind: string }) => e.kind));
    for (const kind of ['declared', 'note', 'step-done', 'step-started', 'step-finished', 'commander', 'status-update', 'audit:restore', 'audit:verify', 'audit:hook', 'audit:backup']) expect(kinds).toContain(kind);
    expect(report.actions.steps.filter((s: { done: boolean }) => s.done).map((s: { number: number }) => s.number)).toEqual([1, 2, 3, 4, 6]);

    const md = await bantay(['incident', 'report', id]);
    expect(md.code, md.stderr).toBe(0);
    for (const section of ['## Incident details', '## Recovery actions', '## Time to recovery', '## Data loss', '## Verification', '## Root cause', '## Lessons learned']) expect(md.stdout).toContain(section);
    expect(md.stdout).toContain('A price update ran without a WHERE clause');
    expect((await bantay(['incident', 'list'])).stdout).toMatch(new RegExp(`${id}  resolved`));
    expect((await bantay(['incident', 'note', '--id', id, 'late'])).stderr).toContain('its report is final');
    expect((await bantay(['incident', 'report', '../etc'])).code).toBe(2);
  });
});
