import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { latestVerification } from '../../src/catalog/verification.ts';
import { ErrorCode } from '../../src/errors.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { restoreToNewDatabase } from '../../src/jobs/restore-database.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { adminUrl, checksumsOf, createFbmsDatabase, databaseExists, dropDatabase, sql, uniqueName } from '../support/databases.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { flipByte, recoveryOptions, scratchDatabasesOf } from '../support/recovery.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';

let source: { url: string; name: string };
let sourceChecksums: Awaited<ReturnType<typeof checksumsOf>>;
let env: Awaited<ReturnType<typeof makeDeps>>;
let backup: Manifest;
const created: string[] = [];

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.3 });
  sourceChecksums = await checksumsOf(source.url);
  env = await makeDeps();
  backup = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
});
afterAll(async () => {
  await env.close();
  await rm(env.dir, { recursive: true, force: true });
  for (const name of [source.name, ...created]) await dropDatabase(name);
});

function target(): string {
  const name = uniqueName('restored');
  created.push(name);
  return name;
}

const spec = (overrides: { target: string; replace?: boolean; backup?: string; jobs?: number }) => ({
  backup: overrides.backup ?? backup.id,
  target: overrides.target,
  replace: overrides.replace ?? false,
  ...recoveryOptions(source.url, overrides.jobs ?? 2),
  trigger: cliTrigger,
});

describe('restoreToNewDatabase', () => {
  it('restores into a new database equal to the source (counts and per-table checksums), verified and audited', async () => {
    const name = target();
    const phases: string[] = [];
    const result = await restoreToNewDatabase(spec({ target: name }), env.deps, { phase: (p) => phases.push(p) });
    expect(result).toMatchObject({ backupId: backup.id, target: name, mode: 'new', usedTempFile: true });
    expect(result.rtoSeconds).toBeGreaterThan(0);
    expect(result.checks.filter((c) => c.status === 'failed')).toEqual([]);
    expect(await checksumsOf(withDatabase(adminUrl(), name))).toEqual(sourceChecksums);
    expect(phases).toEqual(['preparing', 'downloading', 'restoring', 'checking', 'renaming']);
    expect(await scratchDatabasesOf(backup.id)).toEqual([]);
    expect(await latestVerification(env.deps.store, env.deps, backup.id)).toMatchObject({ source: 'restore', passed: true });
    const audit = (await listAudit(env.deps.state, { backupId: backup.id })).filter((a) => a.operationType === 'restore');
    expect(audit.map((a) => a.status)).toEqual(['succeeded', 'started']);
    expect(audit.every((a) => a.performedBy === 'cli:test')).toBe(true);
    // The restored database carries no marker comment of its scratch life.
    const [comment] = await sql<{ c: string | null }>(adminUrl(), `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [name]);
    expect(comment!.c).toBeNull();
  });

  it('streams from stdin with jobs=1 and gives the same data', async () => {
    const name = target();
    const result = await restoreToNewDatabase(spec({ target: name, jobs: 1 }), env.deps);
    expect(result.usedTempFile).toBe(false);
    expect(await checksumsOf(withDatabase(adminUrl(), name))).toEqual(sourceChecksums);
  });

  it('refuses to overwrite an existing database, and replaces it only with replace', async () => {
    const name = target();
    await sql(adminUrl(), `CREATE DATABASE ${name}`);
    await sql(withDatabase(adminUrl(), name), 'CREATE TABLE precious (x int); INSERT INTO precious VALUES (1)');
    await expect(restoreToNewDatabase(spec({ target: name }), env.deps)).rejects.toMatchObject({
      code: ErrorCode.InvalidInput,
      message: `Database ${name} already exists; choose another --target-db, or pass --replace to replace it`,
    });
    expect(await sql(withDatabase(adminUrl(), name), 'SELECT x FROM precious')).toEqual([{ x: 1 }]);
    const refused = (await listAudit(env.deps.state)).find((a) => a.operationType === 'restore' && a.status === 'refused');
    expect(refused?.performedBy).toBe('cli:test');

    const result = await restoreToNewDatabase(spec({ target: name, replace: true }), env.deps);
    expect(result.mode).toBe('replace');
    expect(await checksumsOf(withDatabase(adminUrl(), name))).toEqual(sourceChecksums);
    const leftovers = await sql<{ datname: string }>(adminUrl(), `SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${name}_replaced_%`]);
    expect(leftovers).toEqual([]);
  });

  it('rejects bad target names and the live database with clear errors', async () => {
    const cases: Array<[string, RegExp]> = [
      ['../x', /not an accepted database name/],
      ['fbms"; DROP DATABASE x; --', /not an accepted database name/],
      ["o'brien", /not an accepted database name/],
      ['has space', /not an accepted database name/],
      ['Upper', /not an accepted database name/],
      ['', /not an accepted database name/],
      ['a'.repeat(64), /not an accepted database name/],
      ['bantay_verify_x', /reserved/],
      [source.name, /live FBMS database.*--in-place/],
    ];
    for (const [name, message] of cases) {
      await expect(restoreToNewDatabase(spec({ target: name }), env.deps), name).rejects.toMatchObject({ code: ErrorCode.InvalidInput, message: expect.stringMatching(message) });
    }
    await expect(restoreToNewDatabase(spec({ target: target(), backup: 'db-20200101T000000Z-abcd' }), env.deps)).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await expect(restoreToNewDatabase(spec({ target: target(), backup: 'nope' }), env.deps)).rejects.toMatchObject({ code: ErrorCode.InvalidInput });
  });

  it('refuses the maintenance database and the templates as targets, even with replace', async () => {
    for (const name of ['postgres', 'template1', 'template0']) {
      await expect(restoreToNewDatabase(spec({ target: name, replace: true }), env.deps), name).rejects.toMatchObject({ code: ErrorCode.InvalidInput });
    }
    // Nothing was touched: the maintenance database still accepts connections, template1 is still a template.
    const rows = await sql<{ datname: string; datallowconn: boolean; datistemplate: boolean }>(
      adminUrl(),
      "SELECT datname, datallowconn, datistemplate FROM pg_database WHERE datname IN ('postgres', 'template1') ORDER BY datname",
    );
    expect(rows).toEqual([
      { datname: 'postgres', datallowconn: true, datistemplate: false },
      { datname: 'template1', datallowconn: true, datistemplate: true },
    ]);
  });

  it('refuses to put a damaged backup in place: the target is never created', async () => {
    const damaged = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
    flipByte(join(env.dir, 'store'), damaged.artifact.key, 5000);
    const name = target();
    const failing = restoreToNewDatabase(spec({ target: name, backup: damaged.id }), env.deps);
    await expect(failing).rejects.toMatchObject({ code: ErrorCode.Integrity, message: expect.stringMatching(/failed verification.*nothing was put in place/) });
    const err = (await failing.catch((e: unknown) => e)) as { details: string[] };
    expect(err.details.join('\n')).toMatch(/does not match its manifest|authentic/);
    expect(await databaseExists(name)).toBe(false);
    expect(await scratchDatabasesOf(damaged.id)).toEqual([]);
    expect(await latestVerification(env.deps.store, env.deps, damaged.id)).toMatchObject({ source: 'restore', passed: false });
  });
});
