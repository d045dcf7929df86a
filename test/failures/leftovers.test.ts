import { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runPrune } from '../../src/jobs/retention/prune.ts';
import { renderPrune } from '../../src/cli/commands/prune.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { startJobRun } from '../../src/state/job-runs.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { connectS3TestServer, createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';

const policy = { dailyDays: 7, weeklyWeeks: 4, monthlyMonths: 12, preOpDays: 30, drillReportMonths: 12, exportDays: 30 };

describe('prune removes what interrupted uploads left behind', () => {
  it('local store: temp files older than every running job are listed by --dry-run and removed by prune', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const backupDir = join(dir, 'store', 'backups', 'db-20261201T020000Z-aaaa');
      mkdirSync(backupDir, { recursive: true });
      const old = join(backupDir, '.tmp-0123456789abcdef');
      const fresh = join(backupDir, '.tmp-fedcba9876543210');
      writeFileSync(old, Buffer.alloc(40_000));
      writeFileSync(fresh, Buffer.alloc(1000));
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      utimesSync(old, twoHoursAgo, twoHoursAgo);
      // A job that started an hour ago may own anything written since.
      await startJobRun(deps.state, { id: 'backup-running', job: 'backup database', performedBy: 'cli:other' });
      await deps.state.query(`UPDATE job_runs SET started_at = now() - interval '1 hour' WHERE id = 'backup-running'`);

      const dry = await runPrune({ policy, timezone: 'Asia/Manila', dryRun: true, trigger: cliTrigger }, deps);
      expect(dry.leftovers.planned.filter((d) => d.action === 'remove').map((d) => d.leftover.key)).toEqual(['backups/db-20261201T020000Z-aaaa/.tmp-0123456789abcdef']);
      expect(renderPrune(dry, false)).toMatch(/Would remove 1 leftover\(s\) of interrupted uploads:\n {2}temp file {2}backups\/db-20261201T020000Z-aaaa\/\.tmp-0123456789abcdef {2}40000 bytes/);
      expect(existsSync(old)).toBe(true);

      const done = await runPrune({ policy, timezone: 'Asia/Manila', dryRun: false, trigger: cliTrigger }, deps);
      expect(done.leftovers.removed).toHaveLength(1);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      const audit = (await listAudit(deps.state)).find((a) => a.operationType === 'prune' && a.backupType === 'leftovers');
      expect(audit).toMatchObject({ status: 'succeeded' });
    } finally {
      await close();
    }
  });

  it('S3: incomplete multipart uploads under the prefix older than 24 h are aborted; newer ones and other prefixes stay', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const s3 = new S3Client({ endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    const server = await connectS3TestServer(endpoint);
    // What a backup killed mid-upload leaves: an upload that is never completed nor aborted.
    await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'fbms/backups/db-20261130T020000Z-bbbb/database.dump.enc' }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'other-app/big.bin' }));
    expect(await server.openMultipartUploads(bucket)).toBe(2);
    const store = createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    const { deps, close } = await makeDeps({ store });
    try {
      const young = await runPrune({ policy, timezone: 'Asia/Manila', dryRun: false, trigger: cliTrigger }, deps);
      expect(young.leftovers.planned.map((d) => d.action)).toEqual(['keep']);
      expect(await server.openMultipartUploads(bucket)).toBe(2);

      const tomorrow = { ...deps, now: () => new Date(Date.now() + 25 * 3600_000) };
      const dry = await runPrune({ policy, timezone: 'Asia/Manila', dryRun: true, trigger: cliTrigger }, tomorrow);
      expect(renderPrune(dry, false)).toMatch(/Would remove 1 leftover\(s\).*\n {2}multipart upload {2}backups\/db-20261130T020000Z-bbbb\/database\.dump\.enc {2}incomplete multipart upload initiated/);
      const done = await runPrune({ policy, timezone: 'Asia/Manila', dryRun: false, trigger: cliTrigger }, tomorrow);
      expect(done.leftovers.removed).toHaveLength(1);
      expect(await server.openMultipartUploads(bucket)).toBe(1); // the other prefix's upload is not ours
    } finally {
      await close();
    }
  });
});
