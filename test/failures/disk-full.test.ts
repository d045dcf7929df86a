import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { classifyFailure } from '../../src/failure.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { bantay } from '../support/cli.ts';
import { createDatabase, dropDatabase, sql } from '../support/databases.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { startPitrCluster } from '../support/pitr-cluster.ts';
import { mountTinyFilesystem, unmountTiny } from '../support/tiny-filesystem.ts';

/**
 * A full disk that is not the store is named as such. A restore that fills its target (or the
 * database server's disk, or BANTAY_DATA_DIR) used to read "no space left where the backup is
 * written (store full)" with the remedy "prune": at 3 a.m. that sends the operator to delete
 * backups, which frees nothing on the disk that is full.
 */
describe('a full disk that is not the store', () => {
  it('is "disk-full" unless the store itself refused the write', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(classifyFailure(new BantayError(ErrorCode.Storage, 'put backups/x/dump into /store', { cause: enospc })).cause).toBe('store-full');
    expect(classifyFailure(new BantayError(ErrorCode.Internal, 'Restore failed', { cause: enospc })).cause).toBe('disk-full');
    // PostgreSQL's disk_full (the target server's disk) and pg_restore's text of it.
    const serverFull = Object.assign(new Error('could not extend file "base/16384/16390": No space left on device'), { code: '53100' });
    expect(classifyFailure(new BantayError(ErrorCode.Database, 'restore', { cause: serverFull })).cause).toBe('disk-full');
    expect(classifyFailure(new BantayError(ErrorCode.Tool, 'pg_restore: error: could not write to file: No space left on device')).cause).toBe('disk-full');
    const c = classifyFailure(new BantayError(ErrorCode.Tool, 'tar: Cannot write: No space left on device'), { checking: true });
    expect(c.outcome).toBe('could-not-check');
    expect(c.remedy).toMatch(/deleting backups does not help/);
  });
});

let mountPoint: string | undefined;
let stateUrl: string;
beforeAll(async () => {
  mountPoint = mountTinyFilesystem('bantay-tiny-restore-', '4m', '0755');
  stateUrl = await createDatabase();
});
afterAll(async () => {
  unmountTiny(mountPoint);
  await dropDatabase(new URL(stateUrl).pathname.slice(1));
});

describe('a files restore onto a full filesystem', () => {
  it('fails naming the full disk (not the store), exit 1, leaves no partial tree, and the audit row and job run say disk-full', async (ctx) => {
    if (!mountPoint) ctx.skip(); // needs root to mount a tmpfs; see the README ("Failures")
    const cwd = tempDir('bantay-disk-full-');
    // 12 MB of incompressible files into a 4 MB filesystem.
    writeFiles(join(cwd, 'uploads'), Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`receipts/r${i}.jpg`, noise(1024 * 1024, `r${i}`)])));
    const env = { BANTAY_STATE_URL: stateUrl, UPLOADS_DIR: 'uploads', BANTAY_DATA_DIR: join(cwd, 'var'), BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'error' };
    const backup = await bantay(['backup', 'uploads', '--json'], env, cwd);
    expect(backup.stderr).toBe('');
    const { id } = JSON.parse(backup.stdout) as { id: string };

    const target = join(mountPoint!, 'restored');
    const run = await bantay(['restore', id, '--to', target], env, cwd);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no space left on a disk being written \(not the backup store\)/);
    expect(run.stderr).toContain(`writing the restored tree ${target}: ENOSPC`);
    expect(run.stderr).not.toMatch(/store full|prune/);
    expect(run.stderr).toMatch(/deleting backups does not help/);
    // Nothing partial is left where the operator would look for the files.
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(mountPoint!)).toEqual([]);

    const db = await openStateDb({ url: stateUrl, dataDir: join(cwd, 'var') });
    try {
      const [audit] = (await listAudit(db)).filter((a) => a.operationType === 'restore');
      expect(audit).toMatchObject({ status: 'failed' });
      expect(audit!.errorMessage).toMatch(/ENOSPC/);
      const runs = await db.query<{ status: string; failure_cause: string | null }>("SELECT status, failure_cause FROM job_runs WHERE job LIKE 'restore%'");
      expect(runs).toEqual([{ status: 'failed', failure_cause: 'disk-full' }]);
    } finally {
      await db.close();
    }
  });
});

describe('a files backup into a full store', () => {
  it('is "store full", failed (not cancelled), nothing listed', async (ctx) => {
    if (!mountPoint) ctx.skip();
    const cwd = tempDir('bantay-store-full-');
    writeFiles(join(cwd, 'uploads'), Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`receipts/r${i}.jpg`, noise(1024 * 1024, `s${i}`)])));
    const env = { BANTAY_STATE_URL: stateUrl, UPLOADS_DIR: 'uploads', BANTAY_STORE: join(mountPoint!, 'files-store'), BANTAY_DATA_DIR: join(cwd, 'var'), BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'error' };
    try {
      const run = await bantay(['backup', 'uploads'], env, cwd);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^bantay: Backup failed: no space left where the backup is written \(store full\): .*ENOSPC/m);
      expect((await bantay(['list', '--json'], env, cwd)).stdout.trim()).toBe('[]');
    } finally {
      execFileSync('sh', ['-c', `rm -rf '${mountPoint}'/*`]);
    }
  });
});

describe('a base backup into a full store', () => {
  it('is "store full", failed (not cancelled): pg_basebackup stopped only because the store failed', async (ctx) => {
    if (!mountPoint) ctx.skip();
    const p = await startPitrCluster({ archive: false });
    try {
      // Some bulk, so the archive outgrows the 4 MB store.
      const url = await p.cluster.createDatabase('bulky');
      await sql(url, "CREATE TABLE t AS SELECT g, md5(g::text) || repeat(md5((g * 7)::text), 8) AS v FROM generate_series(1, 60000) g");
      const store = join(mountPoint!, 'store');
      const env = { ...p.env, BANTAY_STORE: store, DATABASE_URL: url };
      const run = await bantay(['backup', 'base'], env, p.dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^bantay: Base backup failed: no space left where the backup is written \(store full\)/m);
      expect(run.stderr).not.toMatch(/cancelled/);
      const db = await openStateDb({ url: undefined, dataDir: p.dataDir });
      try {
        const runs = await db.query<{ status: string; failure_cause: string }>("SELECT status, failure_cause FROM job_runs WHERE job LIKE '%base%'");
        expect(runs).toEqual([{ status: 'failed', failure_cause: 'store-full' }]);
      } finally {
        await db.close();
      }
    } finally {
      await p.stop();
      execFileSync('sh', ['-c', `rm -rf '${mountPoint}'/*`]);
    }
  });
});
