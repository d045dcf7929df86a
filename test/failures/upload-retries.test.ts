import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';

/**
 * Issue 11: "every wait longer than a few seconds is visible in progress". The S3 client
 * retries a failed upload request by itself (backoff between attempts); each retry is told to
 * the job's progress, so a backup that waits on a flaky provider says so instead of going quiet.
 */
let source: { url: string; name: string };
let proxy: FaultProxy;
let env: Awaited<ReturnType<typeof makeDeps>>;
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.05 });
  const bucket = await createTestBucket(inject('s3Endpoint'));
  proxy = await startFaultProxy(inject('s3Endpoint'));
  env = await makeDeps({ store: createS3Store({ bucket, prefix: 'fbms', endpoint: proxy.endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, maxAttempts: 4 }) });
});
afterAll(async () => {
  await env.close();
  await proxy.stop();
  await dropDatabase(source.name);
});

describe('retries of uploads inside the S3 client', () => {
  it('are each told to progress, with the attempt, and the backup still lands', async () => {
    const remove = proxy.add({ method: 'PUT', url: /database\.dump/, fault: { kind: 'status', status: 503, code: 'SlowDown' }, times: 2 });
    const warnings: string[] = [];
    try {
      const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps, { warn: (w: string) => warnings.push(w) });
      expect((await listBackups(env.deps.store, env.deps)).map((m) => m.id)).toContain(manifest.id);
      expect(proxy.hits()).toEqual([2]);
    } finally {
      remove();
    }
    expect(warnings.filter((w) => /^The store did not take the upload/.test(w))).toEqual([
      'The store did not take the upload (attempt 1 failed); trying again, attempt 2 of 4',
      'The store did not take the upload (attempt 2 failed); trying again, attempt 3 of 4',
    ]);
  }, 120_000);
});
