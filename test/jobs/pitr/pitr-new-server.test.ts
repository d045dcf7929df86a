import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../../../src/dev/pg-cluster.ts';
import { withDatabase } from '../../../src/jobs/pg/connection.ts';
import { bantay } from '../../support/cli.ts';
import { sql } from '../../support/databases.ts';
import { startPitrCluster, switchAndWait, type PitrCluster } from '../../support/pitr-cluster.ts';
import { createRichDatabase, ownershipSnapshot, richRoles, type RichRoles } from '../../support/rich-database.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The "complete server failure" case for point-in-time recovery: a database the project did not
 * write (roles owning and granted objects, partitions, large objects, `"a.b".c` beside `a."b.c"`)
 * on server A, archived; server A is gone, and the database is recovered to a second before the
 * mistake onto server B, a new, empty server that has none of A's roles.
 */
describe('point-in-time recovery onto a new, empty server', () => {
  let p: PitrCluster;
  let serverB: PgCluster;
  let roles: RichRoles;
  let source: { name: string; url: string };
  let cut: Date;
  let before: Record<string, unknown>;
  beforeAll(async () => {
    // On S3: the archiver (the postgres user) and Bantay (root, in tests) share the store there.
    [p, serverB] = await Promise.all([startPitrCluster({ s3Endpoint: inject('s3Endpoint') }), startPgCluster()]);
    roles = richRoles(randomBytes(3).toString('hex'));
    const name = 'tindahan';
    source = { name, url: await p.cluster.createDatabase(name) };
    await createRichDatabase(p.cluster.adminUrl, source.url, name, roles);
    const base = await bantay(['backup', 'base', '--json'], { ...p.env, DATABASE_URL: source.url }, p.dir);
    expect(base.stderr).toBe('');
    expect(base.code).toBe(0);
    await sql(source.url, `INSERT INTO "a.b".c SELECT 100 + g FROM generate_series(1, 4) g`);
    await switchAndWait(p.cluster.adminUrl);
    await sleep(1200);
    cut = new Date();
    before = await ownershipSnapshot(p.cluster.adminUrl, source.url, source.name, Object.values(roles));
    await sleep(1200);
    // The mistake, after the time to recover to.
    await sql(source.url, 'DELETE FROM "a.b".c');
    await sql(source.url, 'DROP TABLE a."b.c"');
    await switchAndWait(p.cluster.adminUrl);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([p?.stop(), serverB?.stop()]);
  });

  it('recovers to the time with --target-db on server B: roles created, rows as they were, owners and grants equal to server A', async () => {
    // DATABASE_URL names the database on B, which does not exist there: the server is new.
    const env = { ...p.env, DATABASE_URL: withDatabase(serverB.adminUrl, source.name) };
    const time = cut.toISOString().replace('T', ' ').replace('Z', '+00:00');
    const result = await bantay(['restore', '--time', time, '--target-db', 'naibalik', '--json'], env, p.dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { restore: { createdRoles: string[]; checks: Array<{ name: string; status: string }> } };
    expect(out.restore.createdRoles.sort()).toEqual(Object.values(roles).sort());
    expect(out.restore.checks.filter((c) => c.status === 'failed')).toEqual([]);
    const restored = withDatabase(serverB.adminUrl, 'naibalik');
    expect((await sql<{ n: number }>(restored, 'SELECT count(*)::int AS n FROM "a.b".c'))[0]!.n).toBe(3 + 4);
    expect((await sql<{ n: number }>(restored, 'SELECT count(*)::int AS n FROM a."b.c"'))[0]!.n).toBe(5);
    // Owners, grants (the dropped table's column grant too), settings, large objects and the
    // roles themselves, as on A at the time.
    expect(await ownershipSnapshot(serverB.adminUrl, restored, 'naibalik', Object.values(roles))).toEqual(before);
  });
});
