import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import { ErrorCode } from '../../src/errors.ts';
import { DEFAULT_RETENTION_POLICY } from '../../src/jobs/retention/plan-retention.ts';
import { runSync } from '../../src/jobs/sync-secondary.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { openSecondaryStore } from '../../src/storage/open-secondary.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { keysOf, putFakeBackup } from '../support/fake-backups.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';

const hours = (h: number) => new Date(Date.now() - h * 3_600_000);

async function s3Primary(): Promise<ObjectStore> {
  const endpoint = inject('s3Endpoint');
  const bucket = await createTestBucket(endpoint);
  return createS3Store({ bucket, prefix: 'prod', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
}

/** Counts puts, and lets a test act after each one. */
function watched(store: ObjectStore, afterPut: (key: string) => void = () => undefined): ObjectStore & { puts: string[] } {
  const puts: string[] = [];
  return {
    ...store,
    description: store.description,
    puts,
    async put(key, body, options) {
      const result = await store.put(key, body, options);
      puts.push(key);
      afterPut(key);
      return result;
    },
  };
}

describe('runSync', () => {
  it('copies every backup from S3 to a directory, re-checks each copy, copies manifests last, reports no lag', async () => {
    const primary = await s3Primary();
    const { deps, close } = await makeDeps({ store: primary });
    const a = await putFakeBackup(primary, { createdAt: hours(30), verified: true, sizeBytes: 300_000 }, deps);
    const b = await putFakeBackup(primary, { createdAt: hours(2), kind: 'uploads', parentId: null, sizeBytes: 50_000 }, deps);
    // Drill reports and set records travel too; exports (personal data deliverables) do not.
    const { Readable } = await import('node:stream');
    await primary.put('reports/drills/drill-20261125T010000Z-abcd.json', Readable.from([Buffer.from('{}')]));
    await primary.put('exports/exp-20261125T010000Z-abcd/manifest.json', Readable.from([Buffer.from('{}')]));
    const secondary = watched(createLocalStore(tempDir()));
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect(report.copiedBackups.sort()).toEqual([a.id, b.id].sort());
    expect(report.copiedObjects).toBe(6);
    expect(report.failed).toEqual([]);
    expect(report.lag).toMatchObject({ lagSeconds: 0, missing: [] });
    expect(await keysOf(secondary)).toEqual((await keysOf(primary)).filter((k) => !k.startsWith('exports/')));
    expect(await listBackups(secondary, deps)).toEqual(await listBackups(primary, deps));
    // Per backup, the manifest is the last object written (a half-copied backup is never listed).
    for (const id of [a.id, b.id]) expect(secondary.puts.filter((k) => k.includes(id)).at(-1)).toBe(`backups/${id}/manifest.json`);
    // Newest first, so the lag shrinks fastest.
    expect(secondary.puts[0]).toContain(b.id);
    expect((await listAudit(deps.state)).filter((r) => r.operationType === 'sync' && r.status === 'succeeded')).toHaveLength(2);
    // Idempotent: a second run copies nothing.
    const again = await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect(again).toMatchObject({ copiedBackups: [], copiedObjects: 0 });
    await close();
  });

  it('resumes after an interruption without uploading intact objects again', async () => {
    const { deps, close } = await makeDeps();
    const backup = await putFakeBackup(deps.store, { createdAt: hours(1), sizeBytes: 400_000 }, deps);
    const dir = tempDir();
    const controller = new AbortController();
    const first = watched(createLocalStore(dir), (key) => key.endsWith('database.dump') && controller.abort());
    const err = await runSync({ trigger: cliTrigger, signal: controller.signal }, { ...deps, secondary: first }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Aborted });
    expect(await keysOf(createLocalStore(dir))).toEqual([`backups/${backup.id}/database.dump`]);
    expect(await listBackups(createLocalStore(dir), deps)).toEqual([]);

    const second = watched(createLocalStore(dir));
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary: second });
    expect(second.puts).toEqual([`backups/${backup.id}/manifest.json`]);
    expect(report).toMatchObject({ copiedBackups: [backup.id], alreadyPresent: 1, failed: [] });
    expect((await listBackups(second, deps)).map((m) => m.id)).toEqual([backup.id]);
    await close();
  });

  it('re-copies an interrupted copy whose bytes are wrong', async () => {
    const { deps, close } = await makeDeps();
    const backup = await putFakeBackup(deps.store, { createdAt: hours(1), sizeBytes: 10_000 }, deps);
    const dir = tempDir();
    const secondary = createLocalStore(dir);
    await secondary.put(backup.artifact.key, (await import('node:stream')).Readable.from([Buffer.alloc(10_000)]));
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect(report).toMatchObject({ copiedBackups: [backup.id], alreadyPresent: 0, copiedObjects: 2 });
    expect(readFileSync(join(dir, backup.artifact.key)).equals(readFileSync(join(deps.store.description.slice('local:'.length), backup.artifact.key)))).toBe(true);
    await close();
  });

  it('never propagates a corrupt primary artifact; the other backups still sync', async () => {
    const { deps, close, dir } = await makeDeps();
    const bad = await putFakeBackup(deps.store, { createdAt: hours(5) }, deps);
    const good = await putFakeBackup(deps.store, { createdAt: hours(1) }, deps);
    const path = join(dir, 'store', bad.artifact.key);
    const bytes = readFileSync(path);
    bytes[10]! ^= 0xff;
    writeFileSync(path, bytes);
    const secondary = createLocalStore(tempDir());
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect(report.copiedBackups).toEqual([good.id]);
    expect(report.failed).toEqual([{ id: bad.id, error: expect.stringMatching(/does not match its manifest/) }]);
    expect(await keysOf(secondary, `backups/${bad.id}/`)).toEqual([]);
    expect(report.lag.missing).toEqual([bad.id]);
    await close();
  });

  it('never copies the manifest of a backup whose artifact is missing at the primary', async () => {
    const { deps, close } = await makeDeps();
    const broken = await putFakeBackup(deps.store, { createdAt: hours(5) }, deps);
    await deps.store.delete(broken.artifact.key);
    const secondary = createLocalStore(tempDir());
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect(report.failed).toEqual([{ id: broken.id, error: expect.stringContaining(broken.artifact.key) }]);
    expect(await listBackups(secondary, deps)).toEqual([]);
    expect(report.copiedBackups).toEqual([]);
    await close();
  });

  it('detects a secondary that stores something else than it was sent, and removes that copy', async () => {
    const { deps, close } = await makeDeps();
    const backup = await putFakeBackup(deps.store, { createdAt: hours(1) }, deps);
    const inner = createLocalStore(tempDir());
    const lying: ObjectStore = {
      ...inner,
      description: 'lying',
      async put(key, body, options) {
        const { Readable } = await import('node:stream');
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        if (key.endsWith('.dump')) data[0]! ^= 1;
        return inner.put(key, Readable.from([data]), options);
      },
    };
    const report = await runSync({ trigger: cliTrigger }, { ...deps, secondary: lying });
    expect(report.failed[0]?.error).toMatch(/reads back as .* it was removed/);
    expect(await keysOf(inner)).toEqual([]);
    expect(backup.id).toBe(report.failed[0]?.id);
    await close();
  });

  it('applies the same retention at the secondary and picks up later verification records', async () => {
    const { deps, close } = await makeDeps();
    const old = await putFakeBackup(deps.store, { createdAt: new Date(Date.now() - 40 * 86_400_000) }, deps);
    const recent = await putFakeBackup(deps.store, { createdAt: hours(1) }, deps);
    const secondary = createLocalStore(tempDir());
    const retention = { policy: { ...DEFAULT_RETENTION_POLICY, monthlyMonths: 0 }, timezone: 'Asia/Manila', inUse: [] };
    await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    expect((await listBackups(secondary, deps)).map((m) => m.id)).toEqual([recent.id, old.id]);
    // The primary's own prune removed `old`; a verification record of `recent` appeared since.
    for (const key of await keysOf(deps.store, `backups/${old.id}/`)) await deps.store.delete(key);
    const { writeVerification } = await import('../../src/catalog/verification.ts');
    const recordKey = await writeVerification(deps.store, { formatVersion: 1, backupId: recent.id, source: 'verify', verifiedAt: new Date().toISOString(), passed: true, durationSeconds: 1, checks: [], performedBy: 'schedule', tools: {} }, deps);
    const report = await runSync({ trigger: cliTrigger, retention }, { ...deps, secondary });
    expect(report.copiedObjects).toBe(1);
    expect(await keysOf(secondary, recordKey)).toEqual([recordKey]);
    expect(report.prune?.deleted.map((d) => d.id)).toEqual([old.id]);
    expect((await listBackups(secondary, deps)).map((m) => m.id)).toEqual([recent.id]);
    expect((await listAudit(deps.state)).some((r) => r.operationType === 'prune' && r.backupId === old.id)).toBe(true);
    await close();
  });

  it('reports how far behind an out-of-date secondary is', async () => {
    const { deps, close } = await makeDeps();
    const older = await putFakeBackup(deps.store, { createdAt: hours(26) }, deps);
    const secondary = createLocalStore(tempDir());
    await runSync({ trigger: cliTrigger }, { ...deps, secondary });
    const newer = await putFakeBackup(deps.store, { createdAt: hours(1) }, deps);
    const { computeLag } = await import('../../src/jobs/sync-secondary.ts');
    const { listBackupObjects } = await import('../../src/catalog/backup-objects.ts');
    const lag = computeLag(await listBackupObjects(deps.store), await listBackupObjects(secondary));
    expect(lag.missing).toEqual([newer.id]);
    expect(lag.lagSeconds).toBeGreaterThan(24.9 * 3600);
    expect(lag.newestSecondary).toBe(older.createdAt.replace(/\.\d{3}Z$/, '.000Z'));
    await close();
  });

  it('refuses a local secondary directory that does not exist (an unmounted share)', () => {
    expect(() => openSecondaryStore({ type: 'local', dir: join(tempDir(), 'nfs', 'bantay') })).toThrow(/does not exist.*mounted/);
  });
});
