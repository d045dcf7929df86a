import type { RecordTrust } from '../../../src/catalog/json-record.ts';
import { describe, expect, inject, it } from 'vitest';
import { listBackups } from '../../../src/catalog/catalog.ts';
import { BantayError, ErrorCode } from '../../../src/errors.ts';
import { DEFAULT_RETENTION_POLICY } from '../../../src/jobs/retention/plan-retention.ts';
import { runPrune } from '../../../src/jobs/retention/prune.ts';
import { listAudit } from '../../../src/state/audit-log.ts';
import type { ObjectStore } from '../../../src/storage/object-store.ts';
import { createS3Store } from '../../../src/storage/s3-store.ts';
import { keysOf, putFakeBackup } from '../../support/fake-backups.ts';
import { cliTrigger, makeDeps } from '../../support/job-deps.ts';
import { connectS3TestServer, createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../../support/s3-server.ts';

const NOW = new Date('2026-11-26T06:00:00+08:00');
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
const spec = { policy: { ...DEFAULT_RETENTION_POLICY, monthlyMonths: 0 }, timezone: 'Asia/Manila', trigger: cliTrigger, inUse: [] };

async function seed(store: ObjectStore, trust: RecordTrust) {
  const old = await putFakeBackup(store, { createdAt: ago(45), verified: true }, trust);
  const older = await putFakeBackup(store, { createdAt: ago(60) }, trust);
  const recent = await putFakeBackup(store, { createdAt: ago(3), verified: true }, trust);
  const newest = await putFakeBackup(store, { createdAt: ago(0) }, trust);
  return { old, older, recent, newest };
}

describe('runPrune', () => {
  it('a dry run shows what would go and why, and changes nothing', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => NOW;
    const b = await seed(deps.store, deps);
    const before = await keysOf(deps.store);
    const result = await runPrune({ ...spec, dryRun: true }, deps);
    const doomed = result.plan.decisions.filter((d) => d.action === 'delete').map((d) => d.id);
    expect(doomed.sort()).toEqual([b.old.id, b.older.id].sort());
    expect(result.plan.decisions.find((d) => d.id === b.older.id)!.reasons[0]).toMatch(/daily backup, 60 days old: outside every rule/);
    expect(await keysOf(deps.store)).toEqual(before);
    expect(await listAudit(deps.state)).toEqual([]);
    await close();
  });

  it('deletes every object of an expired backup (artifact, verification records, manifest) and audits each', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => NOW;
    const b = await seed(deps.store, deps);
    const result = await runPrune({ ...spec, dryRun: false }, deps);
    expect(result.deleted.map((d) => d.id).sort()).toEqual([b.old.id, b.older.id].sort());
    expect((await listBackups(deps.store, deps)).map((m) => m.id)).toEqual([b.newest.id, b.recent.id]);
    expect(await keysOf(deps.store, `backups/${b.old.id}/`)).toEqual([]);
    const audit = await listAudit(deps.state);
    expect(audit.filter((a) => a.operationType === 'prune').map((a) => a.backupId).sort()).toEqual([b.old.id, b.older.id].sort());
    expect(audit.every((a) => a.status === 'succeeded' && a.performedBy === 'cli:test')).toBe(true);
    const runs = await deps.state.query<{ job: string; status: string }>('SELECT job, status FROM job_runs');
    expect(runs).toEqual([{ job: 'prune', status: 'succeeded' }]);
    await close();
  });

  it('deletes the manifest first: a prune that fails half-way leaves an unlisted orphan that a later prune removes', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => NOW;
    const b = await seed(deps.store, deps);
    const failing: ObjectStore = { ...deps.store, description: deps.store.description, delete: async (key) => {
      if (key.endsWith('database.dump')) throw new BantayError(ErrorCode.Storage, 'disk on fire');
      return deps.store.delete(key);
    } };
    const first = await runPrune({ ...spec, dryRun: false }, { ...deps, store: failing });
    expect(first.failed.map((f) => f.decision.id).sort()).toEqual([b.old.id, b.older.id].sort());
    expect(first.failed[0]!.error).toMatch(/not deleted .*disk on fire.*a later prune removes them/);
    // Never listed again, though its artifact is still there.
    expect((await listBackups(deps.store, deps)).map((m) => m.id)).toEqual([b.newest.id, b.recent.id]);
    expect(await keysOf(deps.store, `backups/${b.old.id}/`)).toEqual([`backups/${b.old.id}/database.dump`]);
    expect((await listAudit(deps.state)).filter((a) => a.status === 'failed')).toHaveLength(2);
    // Two days later the orphans are stale and go.
    deps.now = () => new Date(Date.now() + 3 * 86_400_000);
    const later = await runPrune({ ...spec, dryRun: false }, deps);
    expect(later.deleted.filter((d) => d.type === 'orphan').map((d) => d.id).sort()).toEqual([b.old.id, b.older.id].sort());
    expect(await keysOf(deps.store, `backups/${b.old.id}/`)).toEqual([]);
    await close();
  });

  it('on S3 deletes with single DeleteObject requests, never the DeleteObjects batch some providers reject', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const server = connectS3TestServer(endpoint);
    const store = createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    const { deps, close } = await makeDeps({ store });
    deps.now = () => NOW;
    const b = await seed(store, deps);
    const result = await runPrune({ ...spec, dryRun: false }, deps);
    expect(result.failed).toEqual([]);
    expect((await listBackups(store, deps)).map((m) => m.id)).toEqual([b.newest.id, b.recent.id]);
    const requests = await server.requests(bucket);
    expect(requests.some((r) => r.method === 'POST' && /[?&]delete(=|&|$)/.test(r.url))).toBe(false);
    const deletes = requests.filter((r) => r.method === 'DELETE').map((r) => r.url);
    expect(deletes.length).toBeGreaterThanOrEqual(5); // 2 manifests, 2 artifacts, 1 verification record
    // The manifest of each backup went before its artifact.
    for (const id of [b.old.id, b.older.id]) {
      expect(deletes.findIndex((u) => u.includes(`${id}/manifest.json`))).toBeLessThan(deletes.findIndex((u) => u.includes(`${id}/database.dump`)));
    }
    await close();
  });

  it('keeps what a running restore reads, from the audit log', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => NOW;
    const b = await seed(deps.store, deps);
    const { recordAudit } = await import('../../../src/state/audit-log.ts');
    await recordAudit(deps.state, { operationType: 'restore', status: 'started', performedBy: 'slack:U1', backupId: b.older.id });
    const result = await runPrune({ policy: spec.policy, timezone: spec.timezone, trigger: cliTrigger, dryRun: true }, deps);
    expect(result.plan.decisions.find((d) => d.id === b.older.id)).toMatchObject({ action: 'keep', reasons: ['in use by a running restore'] });
    await close();
  });

  it('tells full sets and pre-deploy backups apart by their set records', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => NOW;
    const { newSetId, writeBackupSet } = await import('../../../src/catalog/backup-set.ts');
    const fullSet = newSetId(ago(40));
    const deploySet = newSetId(ago(40));
    const inFull = await putFakeBackup(deps.store, { createdAt: ago(40), setId: fullSet }, deps);
    const inDeploy = await putFakeBackup(deps.store, { createdAt: ago(40), setId: deploySet, label: 'v2.3.1' }, deps);
    const plain = await putFakeBackup(deps.store, { createdAt: ago(40) }, deps);
    await putFakeBackup(deps.store, { createdAt: ago(0) }, deps);
    for (const [setId, type] of [[fullSet, 'full'], [deploySet, 'pre-deploy']] as const) {
      await writeBackupSet(deps.store, { formatVersion: 1, setId, type, createdAt: ago(40).toISOString(), completedAt: ago(40).toISOString(), complete: true, trigger: cliTrigger, parts: {} }, deps);
    }
    const policy = { ...spec.policy, weeklyWeeks: 8, preOpDays: 45 };
    const result = await runPrune({ ...spec, policy, dryRun: true }, deps);
    const decision = (id: string) => result.plan.decisions.find((d) => d.id === id)!;
    expect(decision(inFull.id)).toMatchObject({ action: 'keep', reasons: ['weekly full set, 40 days old (kept 8 weeks)'] });
    expect(decision(inDeploy.id)).toMatchObject({ action: 'keep', reasons: ['pre-deploy backup, 40 days old (kept 45 days)'] });
    expect(decision(plain.id).action).toBe('delete');
    await close();
  });
});
