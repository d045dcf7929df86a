import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listAudit } from '../../src/state/audit-log.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { bantay } from '../support/cli.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS } from '../support/s3-server.ts';
import { mountTinyFilesystem, unmountTiny } from '../support/tiny-filesystem.ts';

/**
 * Store failures are named as such: the message, the exit code, the audit row and job_runs
 * say "store full" / "store unreachable", never "cancelled" (pg_dump, killed by Bantay's own
 * abort, used to win). Run through the real CLI, as an operator meets them.
 */
let source: { url: string; name: string };
let mountPoint: string | undefined;
let proxy: FaultProxy;


beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
  mountPoint = mountTinyFilesystem('bantay-tiny-', '20m');
  proxy = await startFaultProxy(inject('s3Endpoint'));
});
afterAll(async () => {
  await proxy.stop();
  unmountTiny(mountPoint);
  await dropDatabase(source.name);
});

function baseEnv(dir: string): Record<string, string> {
  return {
    DATABASE_URL: source.url,
    BANTAY_DATA_DIR: join(dir, 'var'),
    BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
    // pg_dump's real output, padded past 20 MB (random bytes: encryption cannot shrink them).
    BANTAY_PG_BIN: fakePgBinDir('"$REAL" "$@" && head -c 30000000 /dev/urandom'),
    BANTAY_LOG_LEVEL: 'error',
  };
}

async function lastBackupAudit(dataDir: string) {
  const db = await openStateDb({ url: undefined, dataDir });
  try {
    const [audit] = (await listAudit(db)).filter((a) => a.operationType === 'backup');
    const runs = await db.query<{ status: string; failure_cause: string | null }>('SELECT status, failure_cause FROM job_runs');
    return { audit, runs };
  } finally {
    await db.close();
  }
}

describe('store failures are reported as themselves', () => {
  it('ENOSPC on a 20 MB filesystem: "store full" in the message, exit 1, audit and job run', async (ctx) => {
    if (!mountPoint) ctx.skip(); // needs root to mount a tmpfs; see the README ("Failures")
    const dir = tempDir('bantay-enospc-');
    const store = join(mountPoint!, 'store');
    mkdirSync(store);
    const run = await bantay(['backup', 'database'], { ...baseEnv(dir), BANTAY_STORE: store }, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Backup failed: no space left where the backup is written \(store full\): .*ENOSPC/);
    expect(run.stderr).toMatch(/Free space on the store/);
    expect(run.stderr).not.toMatch(/cancel/i);
    const { audit, runs } = await lastBackupAudit(join(dir, 'var'));
    expect(audit).toMatchObject({ status: 'failed' });
    expect(audit!.errorMessage).toMatch(/store full.*ENOSPC/);
    expect(runs).toEqual([{ status: 'failed', failure_cause: 'store-full' }]);
    // Nothing half-written stays on the small filesystem.
    writeFileSync(join(mountPoint!, 'probe'), Buffer.alloc(15 * 1024 * 1024));
  });

  it('persistent S3 500s: "store could not be reached" in the message, exit 1, audit and job run', async () => {
    const dir = tempDir('bantay-s3-500-');
    const bucket = await createTestBucket(inject('s3Endpoint'));
    const remove = proxy.add({ method: 'PUT', url: `/${bucket}/`, fault: { kind: 'status', status: 500 } });
    try {
      const env = {
        ...baseEnv(dir),
        BANTAY_STORE: `s3://${bucket}/fbms`,
        S3_ENDPOINT: proxy.endpoint,
        S3_PART_SIZE_MB: '5',
        AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      };
      const run = await bantay(['backup', 'database'], env, dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/Backup failed: the backup store could not be reached \(.*\) \(HTTP 500\): S3 put .*injected by fault proxy/);
      expect(run.stderr).not.toMatch(/cancel/i);
      const { audit, runs } = await lastBackupAudit(join(dir, 'var'));
      expect(audit).toMatchObject({ status: 'failed' });
      expect(audit!.errorMessage).toMatch(/could not be reached/);
      expect(runs).toEqual([{ status: 'failed', failure_cause: 'store-unreachable' }]);
    } finally {
      remove();
    }
  });
});
