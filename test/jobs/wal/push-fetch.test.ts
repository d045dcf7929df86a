import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../../../src/dev/pg-cluster.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { fetchWalFile } from '../../../src/jobs/wal/fetch-wal.ts';
import { pushWalFile } from '../../../src/jobs/wal/push-wal.ts';
import { readIdentity } from '../../../src/jobs/wal/archive-identity.ts';
import { createLocalStore } from '../../../src/storage/local-store.ts';
import { bantay } from '../../support/cli.ts';
import { sql } from '../../support/databases.ts';
import { newKey, tempDir } from '../../support/job-deps.ts';
import { KeyRing } from '../../../src/crypto/keys.ts';

/** Writes some WAL, switches segments and returns the completed segment's path in pg_wal. */
async function completedSegment(cluster: PgCluster): Promise<{ name: string; path: string }> {
  await sql(cluster.adminUrl, 'CREATE TABLE IF NOT EXISTS t (id serial, v text)');
  await sql(cluster.adminUrl, "INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 1000) g");
  const [row] = await sql<{ name: string }>(cluster.adminUrl, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS name');
  await sql(cluster.adminUrl, 'SELECT pg_switch_wal()');
  const name = row!.name;
  return { name, path: join(cluster.dataDir!, 'pg_wal', name) };
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('wal push / wal fetch (archive_command and restore_command contract)', () => {
  let a: PgCluster;
  let b: PgCluster;
  let dir: string;
  const key = newKey();
  beforeAll(async () => {
    [a, b] = await Promise.all([startPgCluster(), startPgCluster()]);
    dir = tempDir('bantay-wal-');
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  it('stores a segment encrypted, accepts the same bytes again, refuses different bytes without overwriting, fetches it back exactly', async () => {
    const store = createLocalStore(join(dir, 'store1'));
    const deps = { store, keyRing: new KeyRing(key, []) };
    const segment = await completedSegment(a);
    const first = await pushWalFile(segment.path, deps, { via: 'push' });
    expect(first.status).toBe('stored');
    const identity = await readIdentity(store, deps);
    const [sys] = await sql<{ id: string }>(a.adminUrl, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    expect(identity?.systemIdentifier).toBe(sys!.id);
    expect(identity?.pgMajor).toBe(15);
    // Encrypted at rest: the stored object is not the segment and does not contain its bytes.
    const stored = await readFile(join(dir, 'store1', 'wal', sys!.id, `${segment.name}.gz.enc`));
    expect(stored.subarray(0, 8).toString('latin1')).not.toBe((await readFile(segment.path)).subarray(0, 8).toString('latin1'));

    expect((await pushWalFile(segment.path, deps, { via: 'push' })).status).toBe('already-archived');

    const changed = join(dir, segment.name);
    await copyFile(segment.path, changed);
    const bytes = await readFile(changed);
    bytes[5000] = bytes[5000]! ^ 0xff;
    await writeFile(changed, bytes);
    await expect(pushWalFile(changed, deps, { via: 'push' })).rejects.toMatchObject({ code: ErrorCode.Integrity, message: expect.stringMatching(/different content.*not overwritten/) });

    const out = join(dir, 'RECOVERYXLOG');
    await fetchWalFile(segment.name, out, deps);
    expect(await sha(out)).toBe(await sha(segment.path));
  });

  it('through the CLI: exit 0 on push, 1 for a file not archived, 126 when the stored bytes are damaged', async () => {
    const storeDir = join(dir, 'store2');
    const env = { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: key.key.toString('base64'), BANTAY_LOG_LEVEL: 'error' };
    const segment = await completedSegment(a);
    expect((await bantay(['wal', 'push', segment.path], env, dir)).code).toBe(0);
    expect((await bantay(['wal', 'push', segment.path], env, dir)).code).toBe(0);
    const missing = await bantay(['wal', 'fetch', '0000000100000000000000FF', join(dir, 'x')], env, dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the WAL archive/);
    expect((await bantay(['wal', 'fetch', segment.name, join(dir, 'ok')], env, dir)).code).toBe(0);
    expect(await sha(join(dir, 'ok'))).toBe(await sha(segment.path));

    const identity = await readIdentity(createLocalStore(storeDir), { keyRing: new KeyRing(key, []) });
    const object = join(storeDir, 'wal', identity!.systemIdentifier, `${segment.name}.gz.enc`);
    const damaged = await readFile(object);
    damaged[damaged.length - 40] = damaged[damaged.length - 40]! ^ 1;
    await writeFile(object, damaged);
    const broken = await bantay(['wal', 'fetch', segment.name, join(dir, 'bad')], env, dir);
    expect(broken.code).toBe(126);
    const badConfig = await bantay(['wal', 'fetch', segment.name, join(dir, 'bad')], { ...env, BANTAY_ENCRYPTION_KEY: 'short' }, dir);
    expect(badConfig.code).toBe(126);
  });

  it('refuses a second cluster in one archive, naming both system identifiers', async () => {
    const store = createLocalStore(join(dir, 'store3'));
    const deps = { store, keyRing: new KeyRing(key, []) };
    await pushWalFile((await completedSegment(a)).path, deps, { via: 'push' });
    const other = await completedSegment(b);
    const [sysA] = await sql<{ id: string }>(a.adminUrl, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    const [sysB] = await sql<{ id: string }>(b.adminUrl, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    const refused = pushWalFile(other.path, deps, { via: 'push' });
    await expect(refused).rejects.toThrow(new RegExp(`another PostgreSQL cluster \\(system identifier ${sysA!.id}\\); this one is ${sysB!.id}`));
  });
});
