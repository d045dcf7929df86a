import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../src/state/job-runs.ts';
import { openStateDb, type StateDb } from '../../src/state/state-db.ts';
import { adminUrl, createDatabase, sql } from '../support/databases.ts';

async function exercise(db: StateDb): Promise<void> {
  await recordAudit(db, {
    operationType: 'backup',
    backupType: 'database',
    status: 'succeeded',
    filePath: 'backups/db-x/database.dump',
    fileSize: 1234,
    durationSeconds: 1.5,
    performedBy: "cli:o'brien; DROP TABLE backup_audit; --",
    backupId: 'db-20261126T020000Z-7f3a',
    details: { label: 'x' },
  });
  const [row] = await listAudit(db, { backupId: 'db-20261126T020000Z-7f3a' });
  expect(row).toMatchObject({ operationType: 'backup', status: 'succeeded', fileSize: '1234', performedBy: "cli:o'brien; DROP TABLE backup_audit; --" });
  await startJobRun(db, { id: 'run-1', job: 'backup database', performedBy: 'cli:test' });
  await finishJobRun(db, 'run-1', { status: 'failed', errorMessage: 'boom' });
  const [run] = await db.query<{ status: string; error_message: string }>('SELECT status, error_message FROM job_runs WHERE id = $1', ['run-1']);
  expect(run).toEqual({ status: 'failed', error_message: 'boom' });
}

describe('state database', () => {
  it('embedded PGlite: migrates, audits, tracks job runs, survives reopening', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bantay-state-'));
    const db = await openStateDb({ url: undefined, dataDir });
    await exercise(db);
    await db.close();
    const again = await openStateDb({ url: undefined, dataDir });
    expect(await listAudit(again)).toHaveLength(1);
    await again.close();
  });

  it('embedded PGlite refuses a second open while the first holds the lock', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bantay-state-'));
    const db = await openStateDb({ url: undefined, dataDir });
    const { acquireDirLock } = await import('../../src/state/dir-lock.ts');
    // Same process counts as alive, so a short wait must time out with a clear message.
    await expect(acquireDirLock(join(dataDir, 'state.lock'), 300)).rejects.toThrow(/in use by another Bantay process/);
    await db.close();
  });

  it('PostgreSQL via BANTAY_STATE_URL: same queries, concurrent openers migrate once', async () => {
    const url = await createDatabase();
    const [a, b] = await Promise.all([openStateDb({ url, dataDir: '/nonexistent' }), openStateDb({ url, dataDir: '/nonexistent' })]);
    await exercise(a);
    expect(await b.query('SELECT version FROM bantay_migrations')).not.toHaveLength(0);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('job runs', () => {
  it('PostgreSQL via BANTAY_STATE_URL: a dropped idle connection does not crash the process', async () => {
    const url = await createDatabase();
    const db = await openStateDb({ url, dataDir: mkdtempSync(join(tmpdir(), 'bantay-state-')) });
    await exercise(db);
    // The server ends the pool's idle connections (a restart, a DBA, a network blip): pg emits
    // 'error' on the pool, which would be an uncaught exception without a listener.
    const database = new URL(url).pathname.slice(1);
    await sql(adminUrl(), 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // And the pool still works afterwards, with fresh connections.
    expect(await db.query<{ ok: number }>('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await db.close();
  });

  it('keep the backup a running job reads, and its outcome does not erase it', async () => {
    const db = await openStateDb({ url: undefined, dataDir: mkdtempSync(join(tmpdir(), 'bantay-state-')) });
    await startJobRun(db, { id: 'verify-1', job: 'verify database', performedBy: 'cli:test', backupId: 'db-20261126T020000Z-7f3a' });
    expect(await db.query(`SELECT backup_id FROM job_runs WHERE status = 'running'`)).toEqual([{ backup_id: 'db-20261126T020000Z-7f3a' }]);
    await finishJobRun(db, 'verify-1', { status: 'failed', errorMessage: 'scratch database full' });
    expect(await db.query('SELECT status, backup_id FROM job_runs')).toEqual([{ status: 'failed', backup_id: 'db-20261126T020000Z-7f3a' }]);
    await db.close();
  });
});
