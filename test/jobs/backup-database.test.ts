import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listBackups, readManifest } from '../../src/catalog/catalog.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { adminUrl, checksumsOf, createDatabase, createFbmsDatabase, dropDatabase, sql, uniqueName } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { pgRestoreFile, restoreBackupInto } from '../support/pg-restore.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';

let source: { url: string; name: string };
let sourceChecksums: Record<string, { rows: number; md5: string }>;

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.3 });
  sourceChecksums = await checksumsOf(source.url);
});
afterAll(async () => {
  await dropDatabase(source.name);
});

async function expectNothingStored(deps: Awaited<ReturnType<typeof makeDeps>>['deps']): Promise<void> {
  expect(await listBackups(deps.store, deps)).toEqual([]);
  const keys: string[] = [];
  for await (const o of deps.store.list('')) keys.push(o.key);
  expect(keys).toEqual([]);
}

describe('runDatabaseBackup', () => {
  it('stores an encrypted dump whose manifest, row counts and restore match the source exactly', async () => {
    const { deps, close, key } = await makeDeps();
    const phases: string[] = [];
    let bytesSeen = 0;
    const manifest = await runDatabaseBackup({ databaseUrl: source.url, label: 'first', trigger: cliTrigger }, deps, {
      phase: (p) => phases.push(p),
      bytes: (b) => (bytesSeen = b),
    });
    expect(manifest.id).toMatch(/^db-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    expect(manifest.artifact.encryption).toEqual({ algorithm: 'AES-256-GCM-STREAM-v2', keyId: key!.id });
    expect(manifest.source).toMatchObject({ host: '127.0.0.1', database: source.name });
    expect(manifest.label).toBe('first');
    expect(phases).toEqual(['connecting', 'dumping', 'writing manifest']);
    expect(bytesSeen).toBe(manifest.artifact.sizeBytes);
    // Row counts taken in the dump's snapshot equal the source's exact counts, table by table.
    expect(manifest.tables).toEqual(Object.fromEntries(Object.entries(sourceChecksums).map(([t, c]) => [t, c.rows])));
    expect(Object.values(manifest.tables!).every((n) => n > 0)).toBe(true);
    // The store is the catalog: a fresh reader lists it from the manifest alone.
    expect((await listBackups(deps.store, deps)).map((m) => m.id)).toEqual([manifest.id]);
    expect(await readManifest(deps.store, deps, manifest.id)).toEqual(manifest);
    const [audit] = await listAudit(deps.state);
    expect(audit).toMatchObject({ operationType: 'backup', backupType: 'database', status: 'succeeded', backupId: manifest.id, performedBy: 'cli:test' });

    const target = await createDatabase();
    await restoreBackupInto(manifest, deps, target);
    expect(await checksumsOf(target)).toEqual(sourceChecksums);
    await dropDatabase(new URL(target).pathname.slice(1));
    await close();
  });

  it('an S3 backup restores with plain pg_restore to identical data, bytes exactly as the manifest says', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, partSizeBytes: 5 * 1024 * 1024 });
    const { deps, close } = await makeDeps({ store, key: null });
    const warnings: string[] = [];
    const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps, { warn: (w) => warnings.push(w) });
    expect(manifest.artifact.encryption).toBeNull();
    expect(warnings.join()).toMatch(/UNENCRYPTED/);

    const s3 = new S3Client({ endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `fbms/${manifest.artifact.key}` }));
    const bytes = await buffer(object.Body as NodeJS.ReadableStream);
    expect(bytes.length).toBe(manifest.artifact.sizeBytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.artifact.sha256);
    expect(manifest.artifact.plainSha256).toBe(manifest.artifact.sha256);

    const file = join(tempDir(), 'plain.dump');
    writeFileSync(file, bytes);
    const target = await createDatabase();
    await pgRestoreFile(file, target);
    expect(await checksumsOf(target)).toEqual(sourceChecksums);
    await dropDatabase(new URL(target).pathname.slice(1));
    await close();
  });

  it('a flipped byte in an encrypted artifact is detected when it is read back', async () => {
    const { deps, close, dir } = await makeDeps();
    const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps);
    const path = join(dir, 'store', manifest.artifact.key);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(path, bytes);
    const target = await createDatabase();
    const err = await restoreBackupInto(manifest, deps, target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BantayError);
    expect((err as BantayError).code).toBe(ErrorCode.Integrity);
    await dropDatabase(new URL(target).pathname.slice(1));
    await close();
  });

  it('pg_dump killed mid-dump: the job fails with its message, nothing is listed and the artifact is gone', async () => {
    const { deps, close } = await makeDeps();
    // Emits the first 64 KiB of a real dump, then dies the way a SIGKILLed process does.
    deps.pgBinDir = fakePgBinDir('"$REAL" "$@" | head -c 65536\necho "pg_dump: killed" >&2\nexit 137');
    const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err.code).toBe(ErrorCode.Tool);
    expect(err.message).toMatch(/pg_dump exited with status 137: pg_dump: killed/);
    await expectNothingStored(deps);
    const [audit] = await listAudit(deps.state);
    expect(audit).toMatchObject({ status: 'failed', operationType: 'backup' });
    const runs = await deps.state.query<{ status: string }>('SELECT status FROM job_runs');
    expect(runs).toEqual([{ status: 'failed' }]);
    await close();
  });

  it('a cancelled backup (SIGINT in the CLI) leaves nothing behind', async () => {
    const { deps, close } = await makeDeps();
    deps.pgBinDir = fakePgBinDir('"$REAL" "$@"; sleep 5');
    const controller = new AbortController();
    const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger, signal: controller.signal }, deps, {
      bytes: () => controller.abort(),
    }).catch((e: unknown) => e)) as BantayError;
    expect(err.code).toBe(ErrorCode.Aborted);
    await expectNothingStored(deps);
    await close();
  });

  it('an S3 failure mid-upload leaves nothing listed and no open multipart upload', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const { failUploadParts, openMultipartUploads } = await import('../support/s3-server.ts').then((m) => m.connectS3TestServer(endpoint));
    await failUploadParts({ bucket, afterParts: 1, mode: 'status-500' });
    const store = createS3Store({ bucket, prefix: '', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, partSizeBytes: 5 * 1024 * 1024, maxAttempts: 2 });
    const { deps, close } = await makeDeps({ store });
    // pg_dump's output padded past two parts so the second UploadPart happens.
    deps.pgBinDir = fakePgBinDir('"$REAL" "$@"; head -c 12000000 /dev/urandom');
    const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err).toBeInstanceOf(BantayError);
    expect(await openMultipartUploads(bucket)).toBe(0);
    await expectNothingStored(deps);
    await close();
  });

  it('bad credentials: a clear error without the password, nothing listed', async () => {
    const { deps, close, logLines } = await makeDeps();
    const url = new URL(source.url);
    url.password = 'wrong-Pa55word-xyz';
    const err = (await runDatabaseBackup({ databaseUrl: url.toString(), trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err.code).toBe(ErrorCode.Database);
    expect(err.message).toMatch(/password authentication failed/);
    expect(`${err.message}${logLines.join('')}`).not.toContain('wrong-Pa55word-xyz');
    await expectNothingStored(deps);
    await close();
  });

  it('server down: a clear error', async () => {
    const { deps, close } = await makeDeps();
    const err = (await runDatabaseBackup({ databaseUrl: 'postgres://u:p@127.0.0.1:1/fbms', trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err.code).toBe(ErrorCode.Database);
    expect(err.message).toMatch(/Could not connect to the FBMS database: .*ECONNREFUSED/);
    await close();
  });

  it('pg_dump older than the server: refuses before dumping, naming both versions', async () => {
    const { deps, close } = await makeDeps();
    deps.pgBinDir = fakePgBinDir('exit 99', '12.22');
    const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err.code).toBe(ErrorCode.Tool);
    expect(err.message).toMatch(/pg_dump 12\.22 is older than the database server \(PostgreSQL 1\d\.\d+/);
    await expectNothingStored(deps);
    await close();
  });

  it('a failure after the manifest was written (state database down) leaves nothing listed', async () => {
    const { deps, close } = await makeDeps();
    // The job's own success bookkeeping fails once the manifest is in the store.
    const state = deps.state;
    deps.state = {
      ...state,
      // Writes are not journaled here, so every one goes through the failing query below.
      append: undefined,
      query: async (text, params) => {
        if (/UPDATE job_runs/.test(text) && params?.[1] === 'succeeded') throw new Error('state database went away');
        return state.query(text, params);
      },
    };
    const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err).toBeInstanceOf(BantayError);
    expect(err.message).toMatch(/state database went away/);
    // A listed backup whose artifact was deleted would be worse than no backup: neither remains.
    await expectNothingStored(deps);
    await close();
  });

  it('a row count that fails during the dump is reported as itself, not as a cancel', async () => {
    const { deps, close } = await makeDeps();
    // A role that may read every table but one: its exact count fails while pg_dump (slowed
    // down here) has not reached that table yet.
    const role = uniqueName('reader');
    await sql(adminUrl(), `CREATE ROLE ${role} LOGIN PASSWORD 'reader-pw-123'`);
    await sql(source.url, `GRANT USAGE ON SCHEMA public, accounting TO ${role}`);
    await sql(source.url, `GRANT SELECT ON ALL TABLES IN SCHEMA public, accounting TO ${role}`);
    // Sequences too: Bantay reads them before the dump starts (they ignore snapshots).
    await sql(source.url, `GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, accounting TO ${role}`);
    await sql(source.url, `REVOKE SELECT ON public.receipts FROM ${role}`);
    const url = new URL(source.url);
    url.username = role;
    url.password = 'reader-pw-123';
    deps.pgBinDir = fakePgBinDir('sleep 5; exec "$REAL" "$@"');
    const err = (await runDatabaseBackup({ databaseUrl: url.toString(), trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
    expect(err).toBeInstanceOf(BantayError);
    expect(err.code).not.toBe(ErrorCode.Aborted);
    expect(err.message).toMatch(/permission denied for table receipts/);
    await expectNothingStored(deps);
    await sql(source.url, `REVOKE ALL ON ALL TABLES IN SCHEMA public, accounting FROM ${role}`);
    await sql(source.url, `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public, accounting FROM ${role}`);
    await sql(source.url, `REVOKE ALL ON SCHEMA public, accounting FROM ${role}`);
    await sql(adminUrl(), `DROP ROLE ${role}`);
    await close();
  });

  it('the password reaches pg_dump only through its environment, never argv', async () => {
    const { deps, close } = await makeDeps();
    const record = join(tempDir(), 'argv');
    deps.pgBinDir = fakePgBinDir(`echo "$@" > '${record}'\nenv | grep -c '^PGPASSWORD=' >> '${record}'\nexec "$REAL" "$@"`);
    await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps);
    const [argv, passwordInEnv] = readFileSync(record, 'utf8').trim().split('\n');
    const password = decodeURIComponent(new URL(source.url).password);
    expect(password.length).toBeGreaterThan(0);
    expect(argv).not.toContain(password);
    expect(argv).toMatch(/^--format=custom --snapshot=\S+ (?:--\S+ )*--no-password --compress=1$/);
    expect(passwordInEnv).toBe('1');
    await close();
  });
});

