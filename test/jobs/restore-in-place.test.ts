import { rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { ErrorCode } from '../../src/errors.ts';
import { classifyFailure } from '../../src/failure.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { planInPlaceRestore, restoreInPlace } from '../../src/jobs/restore-in-place.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { adminUrl, checksumsOf, createFbmsDatabase, databaseExists, dropDatabasesLike, sql, uniqueName } from '../support/databases.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { recoveryOptions, scratchDatabasesOf } from '../support/recovery.ts';

describe('planInPlaceRestore', () => {
  const at = new Date('2026-11-26T02:03:04.567Z');

  it('plans backup, verified copy, swap and confirm; hooks only when configured', () => {
    const plan = planInPlaceRestore({ backupId: 'db-20261126T010000Z-7f3a', live: 'fbms', at, jobs: 2 });
    expect(plan.keepAs).toBe('fbms_pre_restore_20261126020304');
    expect(plan.steps.map((s) => s.kind)).toEqual(['safety-backup', 'restore-copy', 'copy-attributes', 'close-connections', 'swap', 'confirm']);
    const hooked = planInPlaceRestore({ backupId: 'db-20261126T010000Z-7f3a', live: 'fbms', at, jobs: 1, stopCommand: 'systemctl stop fbms', startCommand: 'systemctl start fbms' });
    expect(hooked.steps.map((s) => s.kind)).toEqual(['safety-backup', 'restore-copy', 'copy-attributes', 'stop-app', 'close-connections', 'swap', 'start-app', 'confirm']);
    expect(hooked.steps.find((s) => s.kind === 'stop-app')).toMatchObject({ command: 'systemctl stop fbms' });
    expect(hooked.steps.find((s) => s.kind === 'swap')!.description).toBe('in one transaction: rename fbms to fbms_pre_restore_20261126020304 and the verified copy to fbms');
  });

  it('keeps the kept-as name within 63 characters for long live names', () => {
    const live = 'f'.repeat(63);
    const plan = planInPlaceRestore({ backupId: 'db-20261126T010000Z-7f3a', live, at, jobs: 2 });
    expect(plan.keepAs).toHaveLength(63);
    expect(plan.keepAs.endsWith('_pre_restore_20261126020304')).toBe(true);
  });
});

let live: { url: string; name: string };
let backupChecksums: Awaited<ReturnType<typeof checksumsOf>>;
let env: Awaited<ReturnType<typeof makeDeps>>;
let backup: Manifest;
const role = uniqueName('fbms_app');
const dirs: string[] = [];
const hookDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  live = await createFbmsDatabase({ scale: 0.2 });
  env = await makeDeps();
  backup = await runDatabaseBackup({ databaseUrl: live.url, trigger: cliTrigger }, env.deps);
  backupChecksums = await checksumsOf(live.url);
  await sql(adminUrl(), `CREATE ROLE ${role} LOGIN`);
});
afterAll(async () => {
  await env.close();
  for (const dir of [env.dir, ...dirs]) await rm(dir, { recursive: true, force: true });
  await dropDatabasesLike(`${live.name}%`);
  await sql(adminUrl(), `DROP ROLE IF EXISTS ${role}`);
});

/** Changes the live data after the backup, so old and new content differ. */
async function diverge(): Promise<Awaited<ReturnType<typeof checksumsOf>>> {
  await sql(live.url, `DELETE FROM public.sale_items WHERE id IN (SELECT id FROM public.sale_items ORDER BY id LIMIT 50)`);
  const changed = await checksumsOf(live.url);
  expect(changed).not.toEqual(backupChecksums);
  return changed;
}

const spec = (hooks: { stop?: string; start?: string } = {}) => ({
  backup: backup.id,
  ...recoveryOptions(live.url, 2),
  hooks: { ...hooks, timeoutSeconds: 10 },
  trigger: cliTrigger,
  authorization: { type: 'typed-confirmation' as const, by: cliTrigger.by },
});

describe('restoreInPlace', () => {
  it('swaps in a verified copy with clients connected, keeps the old database and its settings, takes a pre-restore backup', async () => {
    const before = await diverge();
    // Settings that leave the text form of rows alone (checksums compare text), one of them a list.
    await sql(adminUrl(), `ALTER DATABASE ${live.name} SET work_mem TO '8MB'; ALTER DATABASE ${live.name} SET search_path TO "$user", public, accounting`);
    await sql(adminUrl(), `REVOKE CONNECT ON DATABASE ${live.name} FROM PUBLIC; GRANT CONNECT ON DATABASE ${live.name} TO ${role}`);
    await sql(adminUrl(), `ALTER DATABASE ${live.name} WITH CONNECTION LIMIT 77; ALTER ROLE ${role} IN DATABASE ${live.name} SET work_mem TO '4MB'`);
    const idle = new pg.Client({ connectionString: live.url });
    const busy = new pg.Client({ connectionString: live.url });
    for (const c of [idle, busy]) {
      c.on('error', () => undefined);
      await c.connect();
    }
    await busy.query('BEGIN; SELECT count(*) FROM public.sales');
    const dir = hookDir();
    const result = await restoreInPlace(spec({ stop: `touch ${join(dir, 'stopped')}`, start: `touch ${join(dir, 'started')}` }), env.deps);

    expect(result).toMatchObject({ backupId: backup.id, target: live.name, mode: 'in-place' });
    expect(await checksumsOf(live.url)).toEqual(backupChecksums);
    expect(await checksumsOf(withDatabase(adminUrl(), result.keptAs!))).toEqual(before);
    expect(result.checks.at(-1)).toMatchObject({ name: 'live database', status: 'passed' });
    expect(result.downtimeSeconds).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(dir, 'stopped')) && existsSync(join(dir, 'started'))).toBe(true);
    await expect(busy.query('SELECT 1')).rejects.toThrow();
    await Promise.all([idle.end().catch(() => undefined), busy.end().catch(() => undefined)]);

    const safety = (await listBackups(env.deps.store, env.deps, { label: 'pre-restore' })).find((m) => m.id === result.safetyBackupId);
    expect(safety?.tables).toEqual(Object.fromEntries(Object.entries(before).map(([t, c]) => [t, c.rows])));
    const [setting] = await sql<{ setconfig: string[] }>(adminUrl(), `SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`, [live.name]);
    expect(setting!.setconfig.sort()).toEqual(['search_path="$user", public, accounting', 'work_mem=8MB']);
    const acls = await sql<{ acl: string[] }>(adminUrl(), 'SELECT datacl::text[] AS acl FROM pg_database WHERE datname = ANY($1)', [[live.name, result.keptAs]]);
    expect(acls).toHaveLength(2);
    expect([...acls[0]!.acl].sort()).toEqual([...acls[1]!.acl].sort());
    const grantor = decodeURIComponent(new URL(adminUrl()).username);
    expect(acls[0]!.acl).toContain(`${role}=c/${grantor}`);
    expect(acls[0]!.acl).toContain(`=T/${grantor}`);
    const [info] = await sql<{ datallowconn: boolean; datconnlimit: number }>(adminUrl(), 'SELECT datallowconn, datconnlimit FROM pg_database WHERE datname = $1', [live.name]);
    expect(info!.datallowconn).toBe(true);
    // The connection limit and role settings in the database are the live database's, not dropped by the swap.
    expect(info!.datconnlimit).toBe(77);
    const [roleSetting] = await sql<{ setconfig: string[] }>(
      adminUrl(),
      `SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = $1 AND r.rolname = $2`,
      [live.name, role],
    );
    expect(roleSetting!.setconfig).toEqual(['work_mem=4MB']);

    const steps = (await listAudit(env.deps.state, { backupId: backup.id, limit: 100 })).filter((a) => a.operationType === 'restore');
    expect(steps.every((a) => a.performedBy === 'cli:test')).toBe(true);
    expect(steps.filter((a) => a.status === 'succeeded').length).toBeGreaterThanOrEqual(9);
    expect(await scratchDatabasesOf(backup.id)).toEqual([]);
  });

  it('leaves the live database unchanged, open and restarted when a step before the swap fails', async () => {
    const before = await checksumsOf(live.url);
    const dir = hookDir();
    const failing = restoreInPlace(spec({ stop: 'false', start: `touch ${join(dir, 'started')}` }), env.deps);
    await expect(failing).rejects.toMatchObject({ code: ErrorCode.Tool, message: expect.stringMatching(/stop hook "false" exited with status 1/) });
    const err = (await failing.catch((e: unknown) => e)) as { details: string[] };
    expect(err.details).toContain(`The live database ${live.name} was not changed.`);
    expect(await checksumsOf(live.url)).toEqual(before);
    expect(readFileSync(join(dir, 'started'), 'utf8')).toBe('');
    expect(await scratchDatabasesOf(backup.id)).toEqual([]);
    const [failedStep] = (await listAudit(env.deps.state, { backupId: backup.id })).filter((a) => a.status === 'failed' && a.operationType === 'restore');
    expect(failedStep).toBeDefined();
  });

  it('a swap behind a session holding the live database waits at most BANTAY_LOCK_TIMEOUT, then fails as a lock timeout with nothing changed', async () => {
    const before = await checksumsOf(live.url);
    // From another database, so closing the live database's connections does not end it.
    const holder = new pg.Client({ connectionString: adminUrl() });
    holder.on('error', () => undefined);
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`COMMENT ON DATABASE ${live.name} IS 'held by a forgotten transaction'`);
      const started = Date.now();
      const warnings: string[] = [];
      const failing = restoreInPlace(spec(), { ...env.deps, lockTimeoutMs: 6000 }, { warn: (w: string) => warnings.push(w) });
      const err = await failing.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(classifyFailure(err).cause).toBe('lock-timeout');
      // While it waited, progress named the session holding the lock.
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      expect(warnings).toContainEqual(expect.stringMatching(new RegExp(`^Waiting for a lock: the database ${live.name} is locked by pid ${pid} \\(.*idle in transaction\\); the restore gives up after 6 s`)));
      // Bounded: the default (300 s) would still be waiting.
      expect(Date.now() - started).toBeLessThan(120_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end().catch(() => undefined);
    }
    expect(await checksumsOf(live.url)).toEqual(before);
    expect(await scratchDatabasesOf(backup.id)).toEqual([]);
  });

  it('refuses a backup of another database unless --from-other-database, naming both; with it, restores', async () => {
    const other = await createFbmsDatabase({ scale: 0.1, seed: 7 });
    const before = await checksumsOf(other.url);
    const backupsBefore = (await listBackups(env.deps.store, env.deps)).length;
    const refused = restoreInPlace({ ...spec(), databaseUrl: other.url }, env.deps);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(new RegExp(`is a backup of ${live.name}, not of the live database ${other.name}.*--from-other-database`)) });
    const err = (await refused.catch((e: unknown) => e)) as { details: string[] };
    expect(err.details.join('\n')).toMatch(new RegExp(`Backup: ${live.name} on .*\nLive database: ${other.name} on `));
    expect(await checksumsOf(other.url)).toEqual(before);
    expect((await listBackups(env.deps.store, env.deps)).length).toBe(backupsBefore);
    const result = await restoreInPlace({ ...spec(), databaseUrl: other.url, fromOtherDatabase: true }, env.deps);
    expect(await checksumsOf(other.url)).toEqual(backupChecksums);
    await dropDatabasesLike(`${other.name}%`);
    expect(result.mode).toBe('in-place');
  });

  it('refuses "latest", unknown ids and a missing live database', async () => {
    await expect(restoreInPlace({ ...spec(), backup: 'latest' }, env.deps)).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(/explicit backup id/) });
    await expect(restoreInPlace({ ...spec(), backup: 'db-20200101T000000Z-abcd' }, env.deps)).rejects.toMatchObject({ code: ErrorCode.NotFound });
    const gone = withDatabase(adminUrl(), uniqueName('nothere'));
    await expect(restoreInPlace({ ...spec(), databaseUrl: gone }, env.deps)).rejects.toMatchObject({ code: ErrorCode.NotFound, message: expect.stringMatching(/does not exist/) });
    expect(await databaseExists(new URL(gone).pathname.slice(1))).toBe(false);
  });
});
