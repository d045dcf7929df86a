import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import { BantayError } from '../../src/errors.ts';
import { classifyFailure } from '../../src/failure.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';

let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.05 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

describe('a table held under ACCESS EXCLUSIVE longer than BANTAY_LOCK_TIMEOUT', () => {
  it('the backup says who holds the lock while it waits, then fails as a lock timeout', async () => {
    const holder = new pg.Client({ connectionString: source.url, application_name: 'fbms-migration' });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.sales IN ACCESS EXCLUSIVE MODE');
    const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
    const { deps, close } = await makeDeps();
    deps.lockTimeoutMs = 6000;
    const warnings: string[] = [];
    const started = Date.now();
    try {
      const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps, { warn: (m) => warnings.push(m) }).catch((e: unknown) => e)) as BantayError;
      const seconds = (Date.now() - started) / 1000;
      expect(err).toBeInstanceOf(BantayError);
      expect(seconds).toBeLessThan(60);
      expect(classifyFailure(err)).toMatchObject({ outcome: 'failed', cause: 'lock-timeout' });
      expect(err.message).toMatch(/^Backup failed: a table stayed locked longer than BANTAY_LOCK_TIMEOUT: /);
      expect(warnings.join('\n')).toMatch(new RegExp(`Waiting for a lock: (public\\.)?sales is locked by pid ${pid} \\(application fbms-migration, user \\S+, query started \\S+, idle in transaction\\); the backup gives up after 6 s`));
      expect(await listBackups(deps.store, deps)).toEqual([]);
      const [audit] = await listAudit(deps.state);
      expect(audit).toMatchObject({ operationType: 'backup', status: 'failed' });
      expect(audit!.errorMessage).toMatch(/locked longer than BANTAY_LOCK_TIMEOUT/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await close();
    }
  });
});
