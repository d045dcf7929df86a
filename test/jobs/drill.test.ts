import { mkdir, readdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillReportKey, listDrillReports } from '../../src/catalog/drill-report.ts';
import { readIncidentReport } from '../../src/catalog/incident-report.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { runDrill } from '../../src/jobs/drill.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { classifyFailure } from '../../src/failure.ts';
import { runApplicationBackup } from '../../src/jobs/files/backup-files.ts';
import { latestVerification } from '../../src/catalog/verification.ts';
import { verifyBackup } from '../../src/jobs/verify-backup.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { listSavedDrillReports } from '../../src/state/drill-reports.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { flipByte, recoveryOptions } from '../support/recovery.ts';

let source: { url: string; name: string };
let shared: Awaited<ReturnType<typeof makeDeps>>;
const dirs: string[] = [];
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.2 });
  shared = await makeDeps();
});
afterAll(async () => {
  await shared.close();
  for (const dir of [shared.dir, ...dirs]) await rm(dir, { recursive: true, force: true });
  await dropDatabase(source.name);
});

/** Each test gets its own store (the drill looks at everything in it); the state database is shared. */
function freshEnv() {
  const dir = tempDir();
  dirs.push(dir);
  return { dir, deps: { ...shared.deps, store: createLocalStore(join(dir, 'store')) } };
}

const hour = 3600;
const drillSpec = (objectives = { rtoSeconds: 4 * hour, rpoSeconds: hour }) => ({ ...recoveryOptions(source.url), objectives, trigger: cliTrigger });

describe('runDrill', () => {
  it('restores and verifies the newest database backup, measures RTO and RPO, stores and audits the report', async () => {
    const env = freshEnv();
    await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    const newest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    const { report, text: rendered, storeKey } = await runDrill(drillSpec(), env.deps);

    expect(report).toMatchObject({ passed: true, performedBy: 'cli:test', objectives: { rtoSeconds: 4 * hour, rpoSeconds: hour } });
    expect(report.counts.failed).toBe(0);
    expect(report.counts.passed).toBe(report.items[0]!.checks.length);
    expect(report.items).toHaveLength(1);
    const item = report.items[0]!;
    expect(item).toMatchObject({ kind: 'database', backupId: newest.id, status: 'passed' });
    expect(item.rtoSeconds).toBeGreaterThan(0);
    expect(item.rpoSeconds).toBeGreaterThanOrEqual(0);
    expect(item.rpoSeconds).toBeLessThan(120);
    expect(item.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['integrity', 'rows public.sales', 'RTO', 'RPO']));
    expect(item.checks.find((c) => c.name === 'RTO')).toMatchObject({ status: 'passed', expected: 4 * hour });

    expect(rendered).toMatch(new RegExp(`^Recovery drill ${report.id}: PASSED \\(\\d+ checks passed, 0 failed, 0 skipped\\)`));
    expect(rendered).toMatch(/Objectives: RTO 4h00m, RPO 1h00m\./);
    expect(rendered).toContain(`database backup ${newest.id}`);
    expect(rendered).toMatch(/\[ok\] {3}RTO: Restored and verified in [\d.]+s \(objective 4h00m\)/);

    expect(storeKey).toBe(drillReportKey(report.id));
    expect(await listDrillReports(env.deps.store, env.deps)).toEqual([report]);
    expect(await text(await env.deps.store.get(drillReportKey(report.id, 'txt')))).toBe(rendered);
    expect((await listSavedDrillReports(env.deps.state, 100)).find((r) => r.report.id === report.id)).toEqual({ report, storeKey });
    const audit = (await listAudit(env.deps.state)).find((a) => a.operationType === 'drill' && a.filePath === storeKey);
    expect(audit).toMatchObject({ status: 'succeeded', performedBy: 'cli:test', filePath: storeKey });
    // The same drill as a simulated incident, in the recovery report's form (authenticated).
    const asIncident = await readIncidentReport(env.deps.store, report.id, env.deps);
    expect(asIncident).toMatchObject({ id: report.id, simulated: true, timeToRecovery: { objectiveSeconds: 4 * 3600, withinObjective: true }, dataLoss: { state: 'measured', recoveredPoint: newest.createdAt } });
    expect(asIncident.actions.recoveries).toEqual([expect.objectContaining({ backupId: newest.id, kind: 'restore', status: 'succeeded' })]);
    expect(asIncident.verification.length).toBeGreaterThan(0);
  });

  it('restores the newest application backup into a scratch directory as well, and removes it', async () => {
    const env = freshEnv();
    const app = join(env.dir, 'app');
    await mkdir(join(app, 'config'), { recursive: true });
    await writeFile(join(app, 'index.php'), '<?php echo "Mabuhay";');
    await writeFile(join(app, 'config', 'app.ini'), 'timezone=Asia/Manila\n');
    await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    const files = await runApplicationBackup({ appDir: app, exclude: [], trigger: cliTrigger }, env.deps);
    const tmpDir = join(env.dir, 'tmp');
    const { report, text: rendered } = await runDrill({ ...drillSpec(), tmpDir }, env.deps);
    expect(report.passed).toBe(true);
    expect(report.items.map((i) => [i.kind, i.status])).toEqual([['database', 'passed'], ['application', 'passed']]);
    const item = report.items[1]!;
    expect(item).toMatchObject({ backupId: files.id });
    expect(item.rtoSeconds).toBeGreaterThan(0);
    expect(item.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['restore', 'RTO', 'RPO']));
    expect(rendered).toContain(`application backup ${files.id}`);
    expect(await readdir(tmpDir)).toEqual([]);
    expect((await latestVerification(env.deps.store, env.deps, files.id))?.passed).toBe(true);
  });

  it('fails RTO and RPO against tight objectives, with the figures', async () => {
    const env = freshEnv();
    await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    // The drill runs "two hours later": the newest restorable point is two hours old.
    const later = { ...env.deps, now: () => new Date(Date.now() + 2 * hour * 1000) };
    const { report, text: rendered } = await runDrill(drillSpec({ rtoSeconds: 0.001, rpoSeconds: hour }), later);
    expect(report.passed).toBe(false);
    const checks = report.items[0]!.checks;
    expect(checks.find((c) => c.name === 'RTO')).toMatchObject({ status: 'failed', expected: 0.001 });
    expect(checks.find((c) => c.name === 'RPO')).toMatchObject({ status: 'failed', expected: hour });
    expect(checks.find((c) => c.name === 'RPO')!.detail).toMatch(/is 2h00m old \(objective 1h00m\)/);
    expect(checks.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual(['RTO', 'RPO']);
    expect(rendered).toMatch(/FAILED \(\d+ checks passed, 2 failed, 0 skipped\)/);
    expect((await listAudit(env.deps.state)).find((a) => a.operationType === 'drill' && a.filePath === drillReportKey(report.id))).toMatchObject({ status: 'failed' });
  });

  it('reports a damaged newest backup and measures RPO from the newest backup known to restore', async () => {
    const env = freshEnv();
    const good: Manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    await verifyBackup({ backup: good.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    const bad = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    flipByte(join(env.dir, 'store'), bad.artifact.key, 1000);
    const { report } = await runDrill(drillSpec(), env.deps);
    const item = report.items[0]!;
    expect(item).toMatchObject({ backupId: bad.id, status: 'failed', rtoSeconds: null });
    expect(item.checks.find((c) => c.name === 'integrity')).toMatchObject({ status: 'failed' });
    expect(item.checks.find((c) => c.name === 'RPO')).toMatchObject({ status: 'passed' });
    expect(item.checks.find((c) => c.name === 'RPO')!.detail).toContain(good.id);
  });

  it('fails when there is no database backup at all', async () => {
    const env = freshEnv();
    const { report, text: rendered } = await runDrill(drillSpec(), env.deps);
    expect(report.passed).toBe(false);
    expect(report.items).toEqual([expect.objectContaining({ kind: 'database', backupId: null, status: 'failed' })]);
    expect(rendered).toContain('database: no backup: FAILED');
  });

  it('could not check (not FAILED) when the store cannot be reached: job run and audit say so', async () => {
    const env = freshEnv();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const store = {
      ...env.deps.store,
      list: (): AsyncIterable<never> => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new BantayError(ErrorCode.Storage, 'list backups/', { cause: refused })) }),
      }),
    };
    const failed = await runDrill(drillSpec(), { ...env.deps, store }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(BantayError);
    expect((failed as BantayError).message).toMatch(/^Drill could not be checked: the backup store could not be reached/);
    expect(classifyFailure(failed)).toMatchObject({ outcome: 'could-not-check', cause: 'store-unreachable' });
    const [audit] = (await listAudit(shared.deps.state, { limit: 5 })).filter((a) => a.operationType === 'drill');
    expect(audit).toMatchObject({ status: 'could-not-check' });
    const runs = await shared.deps.state.query<{ status: string; failure_cause: string }>("SELECT status, failure_cause FROM job_runs WHERE job = 'drill' ORDER BY started_at DESC LIMIT 1");
    expect(runs).toEqual([{ status: 'could-not-check', failure_cause: 'store-unreachable' }]);
  });
});
