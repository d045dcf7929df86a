import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackupSets, readBackupSet } from '../../src/catalog/backup-set.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { IncompleteSetError, runEmergencyBackup, runFullBackupSet, runPreDeployBackup } from '../../src/jobs/backup-set.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';

let source: { url: string; name: string };
let deps: JobDeps;
let close: () => Promise<void>;
let appDir: string;
let uploadsDir: string;

beforeAll(async () => {
  [source, { deps, close }] = await Promise.all([createFbmsDatabase({ scale: 0.05 }), makeDeps()]);
  const base = tempDir('bantay-set-');
  appDir = join(base, 'app');
  uploadsDir = join(base, 'uploads');
  writeFiles(appDir, { 'package.json': '{}', 'src/index.js': 'start()', 'node_modules/x/y.js': 'x' });
  writeFiles(uploadsDir, { 'receipts/r1.jpg': noise(5000, 'r1') });
});
afterAll(async () => {
  await close();
  await dropDatabase(source.name);
});

describe('backup sets', () => {
  it('backup full links database, application and a new uploads chain; the set is complete', async () => {
    await runFullBackupSet({ databaseUrl: source.url, appDir, uploadsDir, exclude: ['node_modules'], chainDays: 7, trigger: cliTrigger }, deps); // an existing chain
    const { set, manifests } = await runFullBackupSet({ databaseUrl: source.url, appDir, uploadsDir, exclude: ['node_modules'], chainDays: 7, trigger: cliTrigger }, deps);
    expect(set).toMatchObject({ type: 'full', complete: true });
    expect(Object.keys(set.parts).sort()).toEqual(['application', 'database', 'uploads']);
    for (const role of ['database', 'application', 'uploads'] as const) {
      expect(manifests[role]).toMatchObject({ kind: role, setId: set.setId, setRole: role });
      expect(set.parts[role]).toEqual({ status: 'succeeded', backupId: manifests[role]!.id });
    }
    expect(manifests.uploads!.chain).toMatchObject({ parentId: null, sequence: 0 });
    expect(await readBackupSet(deps.store, deps, set.setId)).toEqual(set);
  });

  it('a set with a failing part is written as incomplete; the parts that worked stay listed', async () => {
    const missing = join(uploadsDir, 'does-not-exist');
    const before = new Set((await listBackups(deps.store, deps)).map((m) => m.id));
    const error = await runFullBackupSet({ databaseUrl: source.url, appDir, uploadsDir: missing, exclude: [], chainDays: 7, trigger: cliTrigger }, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompleteSetError);
    const { set } = (error as IncompleteSetError).result;
    expect((error as IncompleteSetError).message).toMatch(/incomplete: uploads failed/);
    expect(set.complete).toBe(false);
    expect(set.parts.uploads).toMatchObject({ status: 'failed', error: expect.stringMatching(/cannot be read/) });
    const added = (await listBackups(deps.store, deps)).filter((m) => !before.has(m.id));
    expect(added.map((m) => m.kind).sort()).toEqual(['application', 'database']);
    expect(added.every((m) => m.setId === set.setId)).toBe(true);
    expect((await readBackupSet(deps.store, deps, set.setId)).complete).toBe(false);
    const audit = (await listAudit(deps.state, { limit: 100 })).filter((a) => a.backupType === 'set:full');
    expect(audit.map((a) => a.status).sort()).toEqual(['failed', 'succeeded', 'succeeded']);
    expect((await listBackupSets(deps.store, deps)).map((s) => s.complete)).toContain(false);
  });

  it('backup pre-deploy labels database and application with the version; list --label finds them', async () => {
    const { set, manifests } = await runPreDeployBackup({ version: 'v2.3.1', databaseUrl: source.url, appDir, exclude: [], trigger: cliTrigger }, deps);
    expect(set).toMatchObject({ type: 'pre-deploy', label: 'v2.3.1', complete: true });
    const labelled = await listBackups(deps.store, deps, { label: 'v2.3.1' });
    expect(labelled.map((m) => m.id).sort()).toEqual([manifests.database!.id, manifests.application!.id].sort());
    await expect(runPreDeployBackup({ version: 'v2; rm -rf /', databaseUrl: source.url, appDir, exclude: [], trigger: cliTrigger }, deps)).rejects.toThrow(/Invalid label/);
  });

  it('backup emergency is a database backup marked emergency', async () => {
    const m = await runEmergencyBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps);
    expect(m).toMatchObject({ kind: 'database', label: 'emergency', emergency: true });
  });
});
