import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listBackups } from '../../src/catalog/catalog.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createS3Store, type S3StoreOptions } from '../../src/storage/s3-store.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { connectS3TestServer, createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';
import { digestStream, patternSha256, patternStream } from './test-data.ts';

/**
 * Issue 9, "a corrupted upload is listed as good": one bit flipped in an UploadPart body on the
 * way to the provider. The S3 test server (fauxqs) checks neither Content-MD5 nor
 * x-amz-checksum-sha256 and stores whatever arrives, like a provider that ignores the digest;
 * what catches the flip here is the ETag comparison (the ETag is the MD5 of what was stored).
 * Without the integrity middleware these uploads succeed and the backup is listed.
 */
const PART = 5 * 1024 * 1024;
let proxy: FaultProxy;
let endpoint: string;

beforeAll(async () => {
  endpoint = inject('s3Endpoint');
  proxy = await startFaultProxy(endpoint);
});
afterAll(async () => {
  await proxy?.stop();
});

function options(bucket: string, overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return { bucket, prefix: 'fbms', endpoint: proxy.endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, partSizeBytes: PART, queueSize: 2, maxAttempts: 2, ...overrides };
}

const uploadPartsOf = (bucket: string) => proxy.seen().filter((r) => r.method === 'PUT' && r.url.includes(`/${bucket}/`) && /[?&]partNumber=/.test(r.url));

describe.each(['md5', 'sha256'] as const)('S3 uploads with BANTAY_S3_CHECKSUM=%s', (checksum) => {
  it('send a digest of every part as a plain header (no aws-chunked) and store exactly what was sent', async () => {
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store(options(bucket, { checksum }));
    const size = 2 * PART + 1234;
    await store.put('backups/x/multi.bin', patternStream(size, 7));
    await store.put('backups/x/small.json', patternStream(300, 8));
    expect((await digestStream(await store.get('backups/x/multi.bin'))).sha256).toBe(patternSha256(size, 7));
    const uploads = proxy.seen().filter((r) => r.method === 'PUT' && r.url.includes(`/${bucket}/`));
    expect(uploads.length).toBe(4); // three parts and one PutObject
    for (const r of uploads) {
      expect(r.headers['content-encoding'] ?? '').not.toMatch(/aws-chunked/);
      expect(r.headers['x-amz-trailer']).toBeUndefined();
      if (checksum === 'md5') expect(r.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      else expect(r.headers['x-amz-checksum-sha256']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    }
  });

  it('a bit flipped in a part on the way fails the put, leaves nothing stored and no upload open', async () => {
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store(options(bucket, { checksum }));
    const remove = proxy.add({ method: 'PUT', url: new RegExp(`/${bucket}/.*partNumber=2`), fault: { kind: 'flip-request-bit', offset: 1000 }, times: 1 });
    try {
      const err = await store.put('backups/x/multi.bin', patternStream(3 * PART, 9)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BantayError);
      expect((err as BantayError).message).toMatch(/stored different bytes than Bantay sent for part 2/);
      expect(uploadPartsOf(bucket).some((r) => r.fault === 'flip-request-bit')).toBe(true);
    } finally {
      remove();
    }
    expect(await store.stat('backups/x/multi.bin')).toBeUndefined();
    expect(await connectS3TestServer(endpoint).openMultipartUploads(bucket)).toBe(0);
  });
});

describe('a database backup through a corrupting link', () => {
  let source: { url: string; name: string };
  beforeAll(async () => {
    source = await createFbmsDatabase({ scale: 0.05 });
  });
  afterAll(async () => {
    await dropDatabase(source.name);
  });

  it('fails, lists nothing, aborts the multipart upload and audits the cause', async () => {
    const bucket = await createTestBucket(endpoint);
    const store = createS3Store(options(bucket));
    const { deps, close } = await makeDeps({ store });
    // pg_dump's output padded past two parts so UploadPart 2 happens.
    deps.pgBinDir = fakePgBinDir('"$REAL" "$@"; head -c 12000000 /dev/urandom');
    const remove = proxy.add({ method: 'PUT', url: new RegExp(`/${bucket}/.*partNumber=2`), fault: { kind: 'flip-request-bit', offset: 4096 }, times: 1 });
    try {
      const err = (await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, deps).catch((e: unknown) => e)) as BantayError;
      expect(err).toBeInstanceOf(BantayError);
      expect(err.code).toBe(ErrorCode.Integrity);
      expect(err.message).toMatch(/corrupted on the way/);
      expect(await listBackups(store, deps)).toEqual([]);
      const keys: string[] = [];
      for await (const o of store.list('')) keys.push(o.key);
      expect(keys).toEqual([]);
      expect(await connectS3TestServer(endpoint).openMultipartUploads(bucket)).toBe(0);
      const [audit] = await listAudit(deps.state);
      expect(audit).toMatchObject({ operationType: 'backup', status: 'failed' });
      expect(audit!.errorMessage).toMatch(/corrupted on the way/);
    } finally {
      remove();
      await close();
    }
  });
});
