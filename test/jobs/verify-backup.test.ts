import { rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { latestVerification } from '../../src/catalog/verification.ts';
import { ErrorCode } from '../../src/errors.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { verifyBackup } from '../../src/jobs/verify-backup.ts';
import { createFbmsSchema } from '../../src/dev/fbms-fixture.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { createDatabase, createFbmsDatabase, databaseExists, dropDatabase } from '../support/databases.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { flipByte, recoveryOptions, rewriteManifest, scratchDatabasesOf, truncateFile } from '../support/recovery.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';
import pg from 'pg';

let source: { url: string; name: string };
let env: Awaited<ReturnType<typeof makeDeps>>;
let backup: Manifest;

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.3 });
  env = await makeDeps();
  backup = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
});
afterAll(async () => {
  await env.close();
  await rm(env.dir, { recursive: true, force: true });
  await dropDatabase(source.name);
});

const storeDir = () => join(env.dir, 'store');

/** Another backup of the source, whose artifact or manifest a test may damage. */
function copyOfBackup(): Promise<Manifest> {
  return runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
}

describe('verifyBackup', () => {
  for (const jobs of [1, 2]) {
    it(`passes a round trip of the FBMS fixture (jobs=${jobs}), records it and drops the scratch database`, async () => {
      const phases: string[] = [];
      const result = await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url, jobs), trigger: cliTrigger }, env.deps, { phase: (p) => phases.push(p) });
      expect(result.passed).toBe(true);
      expect(result.checks.filter((c) => c.status === 'failed')).toEqual([]);
      expect(result.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['integrity', 'roles', 'pg_restore errors', 'rows public.sales', 'large objects', 'functions', 'triggers', 'indexes']));
      expect(result.checks.find((c) => c.name === 'rows public.sales')).toMatchObject({ expected: backup.tables!['public.sales'], actual: backup.tables!['public.sales'] });
      expect(result.usedTempFile).toBe(jobs > 1);
      expect(phases).toEqual(jobs > 1 ? ['preparing', 'downloading', 'restoring', 'checking', 'cleaning up', 'recording'] : ['preparing', 'restoring', 'checking', 'cleaning up', 'recording']);
      expect(await databaseExists(result.scratchDatabase)).toBe(false);
      expect(result.scratchDatabase).toMatch(/^bantay_verify_db_\d{8}t\d{6}z_[0-9a-f]{4}_[0-9a-f]{8}$/);
      expect(await latestVerification(env.deps.store, env.deps, backup.id)).toMatchObject({ backupId: backup.id, passed: true, source: 'verify', performedBy: 'cli:test' });
      const [audit] = await listAudit(env.deps.state, { backupId: backup.id });
      expect(audit).toMatchObject({ operationType: 'verify', status: 'succeeded', performedBy: 'cli:test', filePath: result.recordKey });
    });
  }

  it('verifies from an S3 store', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, partSizeBytes: 5 * 1024 * 1024 });
    const s3 = await makeDeps({ store });
    try {
      const m = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, s3.deps);
      const result = await verifyBackup({ backup: 'latest', ...recoveryOptions(source.url), trigger: cliTrigger }, s3.deps);
      expect(result).toMatchObject({ backupId: m.id, passed: true });
      expect((await latestVerification(store, s3.deps, m.id))?.passed).toBe(true);
    } finally {
      await s3.close();
      await rm(s3.dir, { recursive: true, force: true });
    }
  });

  it('fails a backup with a flipped byte (SHA-256 mismatch) and says so', async () => {
    const m = await copyOfBackup();
    flipByte(storeDir(), m.artifact.key, Math.floor(m.artifact.sizeBytes / 2));
    const result = await verifyBackup({ backup: m.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    expect(result.passed).toBe(false);
    expect(result.checks.find((c) => c.status === 'failed')).toMatchObject({ name: 'integrity' });
    expect(result.checks.find((c) => c.name === 'integrity')!.detail).toMatch(/does not match its manifest|authentic|tamper|decrypt/i);
    expect(await scratchDatabasesOf(m.id)).toEqual([]);
    expect(await latestVerification(env.deps.store, env.deps, m.id)).toMatchObject({ passed: false });
    const [audit] = await listAudit(env.deps.state, { backupId: m.id });
    expect(audit).toMatchObject({ operationType: 'verify', status: 'failed' });
    expect(audit!.errorMessage).toMatch(/integrity|match|authentic/i);
  });

  it('fails a flipped byte even when the manifest digest was updated to match (decryption authenticity)', async () => {
    const m = await copyOfBackup();
    flipByte(storeDir(), m.artifact.key, -100);
    const bytes = readFileSync(join(storeDir(), m.artifact.key));
    await rewriteManifest(env.deps.store, { ...m, artifact: { ...m.artifact, sha256: createHash('sha256').update(bytes).digest('hex') } }, env.deps);
    const result = await verifyBackup({ backup: m.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    expect(result.passed).toBe(false);
    expect(result.checks.find((c) => c.name === 'integrity')).toMatchObject({ status: 'failed' });
    expect(await scratchDatabasesOf(m.id)).toEqual([]);
  });

  for (const jobs of [1, 2]) {
    it(`fails a truncated artifact (jobs=${jobs})`, async () => {
      const m = await copyOfBackup();
      truncateFile(storeDir(), m.artifact.key, Math.floor(m.artifact.sizeBytes * 0.7));
      const result = await verifyBackup({ backup: m.id, ...recoveryOptions(source.url, jobs), trigger: cliTrigger }, env.deps);
      expect(result.passed).toBe(false);
      expect(result.checks.find((c) => c.name === 'integrity')).toMatchObject({ status: 'failed' });
      expect(result.checks.find((c) => c.name === 'integrity')!.detail).toMatch(/does not match its manifest|truncat|end of/i);
      expect(await scratchDatabasesOf(m.id)).toEqual([]);
    });
  }

  it('fails when the manifest row counts do not match the restored data', async () => {
    const m = await copyOfBackup();
    const sales = m.tables!['public.sales']!;
    await rewriteManifest(env.deps.store, { ...m, tables: { ...m.tables, 'public.sales': sales + 1 } }, env.deps);
    const result = await verifyBackup({ backup: m.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    expect(result.passed).toBe(false);
    expect(result.checks.filter((c) => c.status === 'failed').map((c) => c.detail)).toEqual([`public.sales: expected ${sales + 1} rows, restored ${sales}`]);
  });

  it('fails an empty database that was backed up as if it had data, and names empty required tables', async () => {
    const emptyUrl = await createDatabase();
    const client = new pg.Client({ connectionString: emptyUrl });
    await client.connect();
    await createFbmsSchema(client);
    await client.end();
    const empty = await runDatabaseBackup({ databaseUrl: emptyUrl, trigger: cliTrigger }, env.deps);
    expect(empty.tables!['public.sales']).toBe(0);
    await rewriteManifest(env.deps.store, { ...empty, tables: backup.tables }, env.deps);
    const result = await verifyBackup({ backup: empty.id, ...recoveryOptions(source.url), trigger: cliTrigger }, { ...env.deps, requiredTables: ['public.sales'] });
    expect(result.passed).toBe(false);
    const failed = result.checks.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toContain('required public.sales');
    expect(failed.find((c) => c.name === 'rows public.sales')!.detail).toBe(`public.sales: expected ${backup.tables!['public.sales']} rows, restored 0 (empty)`);
    await dropDatabase(new URL(emptyUrl).pathname.slice(1));
  });

  it('drops the scratch database when cancelled mid-restore', async () => {
    const controller = new AbortController();
    let scratchSeen = false;
    const verifying = verifyBackup({ backup: backup.id, ...recoveryOptions(source.url), trigger: cliTrigger, signal: controller.signal }, env.deps, {
      bytes: () => {
        if (!scratchSeen) {
          scratchSeen = true;
          controller.abort();
        }
      },
    });
    await expect(verifying).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(scratchSeen).toBe(true);
    expect(await scratchDatabasesOf(backup.id)).toEqual([]);
  });

  it('rejects unknown and malformed ids with clear errors, and non-database backups', async () => {
    const spec = { ...recoveryOptions(source.url), trigger: cliTrigger };
    await expect(verifyBackup({ ...spec, backup: 'db-20200101T000000Z-0000' }, env.deps)).rejects.toMatchObject({ code: ErrorCode.NotFound, message: expect.stringMatching(/No backup db-20200101T000000Z-0000/) });
    await expect(verifyBackup({ ...spec, backup: '../x' }, env.deps)).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(/not a backup id/) });
    const files = await copyOfBackup();
    await rewriteManifest(env.deps.store, { ...files, kind: 'application' }, env.deps);
    await expect(verifyBackup({ ...spec, backup: files.id }, env.deps)).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(/is not a database backup \(kind application\)/) });
  });
});
