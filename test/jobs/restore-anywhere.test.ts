import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { startPgCluster, type PgCluster } from '../../src/dev/pg-cluster.ts';
import { ErrorCode } from '../../src/errors.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { exportSql } from '../../src/jobs/export-sql.ts';
import { readGlobals } from '../../src/jobs/globals/globals-artifact.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { restoreToNewDatabase } from '../../src/jobs/restore-database.ts';
import { verifyBackup } from '../../src/jobs/verify-backup.ts';
import { adminUrl, createDatabase, dropDatabase, sql, uniqueName } from '../support/databases.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { recoveryOptions, rewriteManifest } from '../support/recovery.ts';
import { createRichDatabase, ownershipSnapshot, richRoles, type RichRoles } from '../support/rich-database.ts';

// Server A is the shared test cluster; server B is a second, empty cluster started here: the
// "complete server failure" case, where the backup is all that is left.
let serverB: PgCluster;
let env: Awaited<ReturnType<typeof makeDeps>>;
let source: { name: string; url: string };
let roles: RichRoles;
let roleNames: string[];
let backup: Manifest;

beforeAll(async () => {
  serverB = await startPgCluster();
  roles = richRoles(randomBytes(3).toString('hex'));
  roleNames = Object.values(roles);
  source = { name: uniqueName('tindahan'), url: '' };
  source.url = await createDatabase(source.name);
  await createRichDatabase(adminUrl(), source.url, source.name, roles);
  env = await makeDeps();
  backup = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, backupRolePasswords: true });
}, 180_000);
afterAll(async () => {
  await env?.close();
  if (env) await rm(env.dir, { recursive: true, force: true });
  await serverB?.stop();
  await dropDatabase(source.name);
  for (const r of [roles.member, roles.group, roles.reader, roles.owner]) await sql(adminUrl(), `DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
});

/** DATABASE_URL on server B: a live database that does not exist (the server is new). */
const onB = (jobs = 1) => recoveryOptions(withDatabase(serverB.adminUrl, 'fbms'), jobs);

describe('backup records what the database holds', () => {
  it('keys tables unambiguously, counts inheritance parents FROM ONLY, lists partitions, sequences, large objects, views and objects', () => {
    expect(backup.tables).toMatchObject({
      '"a.b".c': 3,
      'a."b.c"': 5,
      '"Kasama.Dot"."Name With Space"': 2,
      'tindahan."résibo"': 25,
      'tindahan.lungsod': 3,
      'tindahan.kabisera': 1,
      'tindahan.benta_2025': 214,
      'tindahan.benta_2026': 87,
    });
    expect(backup.tables).not.toHaveProperty('tindahan.benta');
    const c = backup.contents!;
    expect(c.partitions).toEqual({ 'tindahan.benta': ['tindahan.benta_2025', 'tindahan.benta_2026'] });
    expect(c.inheritance).toEqual({ 'tindahan.lungsod': ['tindahan.kabisera'] });
    expect(c.sequences['tindahan.numero_seq']).toEqual({ lastValue: '42', isCalled: true });
    expect(c.sequences['tindahan.hindi_pa_seq']).toEqual({ lastValue: '1', isCalled: false });
    expect(c.sequences['tindahan."résibo_id_seq"']).toEqual({ lastValue: '25', isCalled: true });
    expect(c.largeObjects.count).toBe(2);
    expect(c.materializedViews).toEqual({ 'tindahan.araw_araw': true, 'tindahan.walang_laman': false });
    expect(c.objects).toEqual({ functions: 1, triggers: 1, indexes: 4 });
    expect(backup.source.systemIdentifier).toMatch(/^\d+$/);
  });

  it('stores the globals it needs, encrypted beside the dump: roles closed over memberships, settings, database attributes', async () => {
    // The four roles, and the superuser that owns the schemas it created (present on every server here, so never created).
    const superuser = decodeURIComponent(new URL(adminUrl()).username);
    expect(backup.globals).toMatchObject({ key: `backups/${backup.id}/globals.json.enc`, roles: 5, passwords: true });
    const globals = (await readGlobals(backup, env.deps))!;
    expect(globals.roles.map((r) => r.name).sort()).toEqual([...roleNames, superuser].sort());
    expect(globals.roles.find((r) => r.name === roles.reader)!.password).toMatch(/^SCRAM-SHA-256\$/);
    expect(globals.memberships).toEqual([{ role: roles.group, member: roles.member, adminOption: false }]);
    expect(globals.database).toMatchObject({ name: source.name, owner: roles.owner, connectionLimit: 42, comment: 'Tindahan ni Aling Nena', settings: ['TimeZone=Asia/Manila'] });
    expect(globals.database.roleSettings).toEqual([{ role: roles.member, settings: ['search_path=tindahan, public'] }]);
  });

  it('leaves passwords out by default', async () => {
    const plain = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    expect(plain.globals!.passwords).toBe(false);
    expect((await readGlobals(plain, env.deps))!.roles.every((r) => r.password === null)).toBe(true);
  });
});

describe('restore onto a new, empty server', () => {
  it('verify on server B never creates roles: it says which are missing and still checks the data', async () => {
    const result = await verifyBackup({ backup: backup.id, ...onB(), trigger: cliTrigger }, env.deps);
    expect(result.passed).toBe(true);
    expect(result.checks.find((c) => c.name === 'roles')).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/4 role\(s\) the backup references do not exist/) });
    expect(await sql(serverB.adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [roleNames])).toEqual([]);
  });

  it('creates the missing roles, restores, passes verify, and owners, grants, settings and attributes equal the source', async () => {
    const target = 'tindahan_naibalik';
    const result = await restoreToNewDatabase({ backup: backup.id, target, replace: false, ...onB(2), trigger: cliTrigger }, env.deps);
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(result.checks.find((c) => c.name === 'pg_restore errors')).toMatchObject({ status: 'passed' });
    expect(result.checks.find((c) => c.name === 'large objects')).toMatchObject({ status: 'passed', actual: 2 });
    expect(result.checks.find((c) => c.name === 'materialized view tindahan.araw_araw')!.detail).toMatch(/populated \(pg_restore refreshed it/);
    expect(result.createdRoles.sort()).toEqual([...roleNames].sort());
    const a = await ownershipSnapshot(adminUrl(), source.url, source.name, roleNames);
    const b = await ownershipSnapshot(serverB.adminUrl, withDatabase(serverB.adminUrl, target), target, roleNames);
    expect(b).toEqual(a);
    // The password came along (it was enabled for this backup): the reader can log in on B.
    const reader = new URL(withDatabase(serverB.adminUrl, target));
    reader.username = roles.reader;
    reader.password = 'basa-123';
    expect(await sql(reader.toString(), 'SELECT current_user AS u')).toEqual([{ u: roles.reader }]);
  });

});

describe('on another new server, without creating roles', () => {
  let fresh: PgCluster;
  beforeAll(async () => {
    fresh = await startPgCluster();
  }, 120_000);
  afterAll(async () => {
    await fresh?.stop();
  });
  const onFresh = () => recoveryOptions(withDatabase(fresh.adminUrl, 'fbms'));

  it('--no-owner creates no roles and restores everything owned by the connecting role, without grants', async () => {
    const target = 'walang_may_ari';
    const result = await restoreToNewDatabase({ backup: backup.id, target, replace: false, ...onFresh(), trigger: cliTrigger, noOwner: true }, env.deps);
    expect(result).toMatchObject({ noOwner: true, createdRoles: [] });
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(await sql(fresh.adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [roleNames])).toEqual([]);
    const owners = await sql<{ owner: string }>(withDatabase(fresh.adminUrl, target), `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tindahan'`);
    expect(owners).toEqual([{ owner: decodeURIComponent(new URL(fresh.adminUrl).username) }]);
    const [db] = await sql<{ datconnlimit: number; comment: string }>(fresh.adminUrl, `SELECT datconnlimit, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [target]);
    expect(db).toEqual({ datconnlimit: 42, comment: 'Tindahan ni Aling Nena' });
  });

  it('a restore with pg_restore errors is refused, and put in place with --accept-restore-errors, the errors listed', async () => {
    // A backup made before Bantay captured globals, restored where its roles do not exist:
    // every ALTER … OWNER and GRANT fails in pg_restore; the data itself restores.
    const m = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    const { globals: _dropped, ...legacy } = m;
    await rewriteManifest(env.deps.store, legacy, env.deps);
    const refused = restoreToNewDatabase({ backup: m.id, target: 'may_mali', replace: false, ...onFresh(), trigger: cliTrigger }, env.deps);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.Integrity, details: expect.arrayContaining([expect.stringMatching(/pg_restore reported \d+ error\(s\): .*role .* does not exist/)]) });
    expect(await sql(fresh.adminUrl, "SELECT 1 FROM pg_database WHERE datname = 'may_mali'")).toEqual([]);
    const result = await restoreToNewDatabase({ backup: m.id, target: 'may_mali', replace: false, ...onFresh(), trigger: cliTrigger, acceptRestoreErrors: true }, env.deps);
    expect(result.checks.find((c) => c.name === 'pg_restore errors')).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/^Accepted by the operator/) });
    expect(result.restoreErrors.length).toBeGreaterThan(0);
    expect(result.restoreErrors.every((e) => e.startsWith('pg_restore: error: '))).toBe(true);
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(await sql(withDatabase(fresh.adminUrl, 'may_mali'), 'SELECT count(*)::int AS n FROM tindahan.benta')).toEqual([{ n: 301 }]);
  });

  it('never alters a role that already exists on the target', async () => {
    await sql(fresh.adminUrl, `CREATE ROLE ${roles.owner} LOGIN CONNECTION LIMIT 9`);
    const result = await restoreToNewDatabase({ backup: backup.id, target: 'may_dati', replace: false, ...onFresh(), trigger: cliTrigger }, env.deps);
    expect(result.createdRoles.sort()).toEqual([roles.reader, roles.group, roles.member].sort());
    const [owner] = await sql(fresh.adminUrl, 'SELECT rolcanlogin, rolconnlimit, rolcreatedb, rolconfig FROM pg_roles WHERE rolname = $1', [roles.owner]);
    expect(owner).toEqual({ rolcanlogin: true, rolconnlimit: 9, rolcreatedb: false, rolconfig: null });
  });
});

describe('verify proves what it claims', () => {
  it('passes by default on a database that is not FBMS, and fails when BANTAY_REQUIRED_TABLES names a missing table', async () => {
    const ok = await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    expect(ok.passed).toBe(true);
    expect(ok.checks.find((c) => c.name === 'roles')).toMatchObject({ status: 'passed' });
    const required = await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url), trigger: cliTrigger }, { ...env.deps, requiredTables: ['tindahan.benta', 'public.users'] });
    expect(required.passed).toBe(false);
    expect(required.checks.filter((c) => c.status === 'failed').map((c) => c.detail)).toEqual(['Required table public.users (BANTAY_REQUIRED_TABLES) is not in the restored database']);
    expect(required.checks.find((c) => c.name === 'required tindahan.benta')).toMatchObject({ status: 'passed', actual: 301 });
  });

  it('catches a wrong sequence value and a missing large object', async () => {
    const m = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    const contents = m.contents!;
    await rewriteManifest(env.deps.store, {
      ...m,
      contents: { ...contents, sequences: { ...contents.sequences, 'tindahan.numero_seq': { lastValue: '43', isCalled: true } }, largeObjects: { ...contents.largeObjects, count: 3 } },
    }, env.deps);
    const result = await verifyBackup({ backup: m.id, ...recoveryOptions(source.url), trigger: cliTrigger }, env.deps);
    expect(result.passed).toBe(false);
    expect(result.checks.filter((c) => c.status === 'failed').map((c) => c.detail)).toEqual(['tindahan.numero_seq: expected last_value 43, restored 42', 'Large objects: expected 3, restored 2']);
  });
});

describe('export-sql', () => {
  it('makes the same pg_restore version check as restore', async () => {
    const m = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    await rewriteManifest(env.deps.store, { ...m, tools: { ...m.tools, pg_dump: '99.1' } }, env.deps);
    const output = new PassThrough();
    output.resume();
    await expect(exportSql({ id: m.id, output, trigger: cliTrigger }, env.deps)).rejects.toMatchObject({ message: expect.stringMatching(/cannot read a dump made by pg_dump 99\.1/) });
  });
});
