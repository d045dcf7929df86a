import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { createS3Store, type S3StoreOptions } from '../../src/storage/s3-store.ts';
import {
  createTestBucket,
  startS3TestServer,
  TEST_S3_CREDENTIALS,
  TEST_S3_REGION,
  type S3TestServer,
} from '../support/s3-server.ts';
import { CONTRACT_PART_SIZE, runObjectStoreContract } from './contract.ts';
import { collect, digestStream, expectBantayError, patternSha256, patternStream } from './test-data.ts';

const P = CONTRACT_PART_SIZE;
let server: S3TestServer;

beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.stop();
});

function storeOptions(bucket: string, overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  return {
    bucket,
    prefix: 'bantay/test',
    endpoint: server.endpoint,
    region: TEST_S3_REGION,
    forcePathStyle: true,
    credentials: TEST_S3_CREDENTIALS,
    partSizeBytes: P,
    queueSize: 2,
    maxAttempts: 2,
    ...overrides,
  };
}

runObjectStoreContract('s3', async () => {
  const bucket = await createTestBucket(server.endpoint);
  return {
    store: createS3Store(storeOptions(bucket)),
    cleanup: async () => undefined,
    leftovers: () => server.openMultipartUploads(bucket),
  };
});

describe('S3 store specifics', () => {
  afterEach(async () => {
    await server.clearFaults();
  });

  it('sends plain bodies: no aws-chunked encoding, no flexible checksums', async () => {
    const bucket = await createTestBucket(server.endpoint);
    const store = createS3Store(storeOptions(bucket));
    await store.put('plain/small.bin', patternStream(1000, 1));
    await store.put('plain/multi.bin', patternStream(3 * P + 17, 2));
    expect((await digestStream(await store.get('plain/multi.bin'))).sha256).toBe(patternSha256(3 * P + 17, 2));
    const requests = await server.requests(bucket);
    const uploadParts = requests.filter((r) => r.method === 'PUT' && r.url.includes('partNumber='));
    expect(uploadParts).toHaveLength(4);
    const headers = await server.requestHeaders(bucket);
    expect(headers.length).toBeGreaterThanOrEqual(6); // PutObject, Create, 4 parts, Complete
    for (const h of headers) {
      expect(h['content-encoding'] ?? '').not.toContain('aws-chunked');
      expect(Object.keys(h).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);
      expect(h['x-amz-sdk-checksum-algorithm']).toBeUndefined();
      expect(h['x-amz-trailer']).toBeUndefined();
      expect(h['x-amz-decoded-content-length']).toBeUndefined();
      expect(h['x-amz-content-sha256'] ?? '').not.toMatch(/^STREAMING-/);
    }
  });

  it.each(['status-500', 'drop-connection'] as const)(
    'aborts the multipart upload when the server fails mid-upload (%s)',
    async (mode) => {
      const bucket = await createTestBucket(server.endpoint);
      const store = createS3Store(storeOptions(bucket));
      await server.failUploadParts({ bucket, afterParts: 1, mode });
      const err = await expectBantayError(store.put('fault/obj.bin', patternStream(4 * P, 3)), ErrorCode.Storage);
      expect(err.message).toContain('fault/obj.bin');
      expect(await server.openMultipartUploads(bucket)).toBe(0);
      expect(await collect(store.list(''))).toEqual([]);
      const requests = await server.requests(bucket);
      expect(requests.some((r) => r.method === 'DELETE' && r.url.includes('uploadId='))).toBe(true);
      // maxAttempts 2: the failing part was retried once.
      const failedPartAttempts = requests.filter((r) => r.method === 'PUT' && /partNumber=[2-4]/.test(r.url));
      expect(failedPartAttempts.length).toBeGreaterThanOrEqual(2);
    },
  );

  it('sends AbortMultipartUpload when the signal aborts an open multipart upload', async () => {
    const bucket = await createTestBucket(server.endpoint);
    const store = createS3Store(storeOptions(bucket));
    const controller = new AbortController();
    const body = patternStream(6 * P, 4, {
      onProgress: async (produced) => {
        if (produced < 3 * P || controller.signal.aborted) return;
        // Hold the body until the server really has an open upload, then abort.
        while ((await server.openMultipartUploads(bucket)) === 0) await new Promise((r) => setTimeout(r, 20));
        controller.abort();
      },
    });
    await expectBantayError(store.put('abort/obj.bin', body, { signal: controller.signal }), ErrorCode.Aborted);
    expect(await server.openMultipartUploads(bucket)).toBe(0);
    const requests = await server.requests(bucket);
    expect(requests.some((r) => r.method === 'DELETE' && r.url.includes('uploadId='))).toBe(true);
    expect(await store.stat('abort/obj.bin')).toBeUndefined();
  });

  it('sends x-amz-server-side-encryption: AES256 only when configured', async () => {
    const bucket = await createTestBucket(server.endpoint);
    const sse = createS3Store(storeOptions(bucket, { prefix: 'sse', serverSideEncryption: 'AES256' }));
    await sse.put('small.bin', patternStream(10, 1));
    await sse.put('multi.bin', patternStream(P + 1, 1));
    const plain = createS3Store(storeOptions(bucket, { prefix: 'plain' }));
    await plain.put('small.bin', patternStream(10, 1));
    const requests = await server.requests(bucket);
    const creates = (prefix: string) =>
      requests.filter((r) => r.url.startsWith(`/${bucket}/${prefix}/`) && (r.method === 'PUT' ? !r.url.includes('partNumber=') : r.url.includes('uploads')));
    expect(creates('sse')).toHaveLength(2); // PutObject + CreateMultipartUpload
    for (const r of creates('sse')) expect(r.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(creates('plain')).toHaveLength(1);
    expect(creates('plain')[0]?.headers['x-amz-server-side-encryption']).toBeUndefined();
  });

  it('stores keys below the prefix and lists them relative to it', async () => {
    const bucket = await createTestBucket(server.endpoint);
    const raw = new S3Client({ endpoint: server.endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS });
    for (const key of ['p/folder/', 'px/zzz', 'outside']) await raw.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    const prefixed = createS3Store(storeOptions(bucket, { prefix: 'p' }));
    await prefixed.put('a/b', patternStream(3, 1));
    const unprefixed = createS3Store(storeOptions(bucket, { prefix: '' }));
    await unprefixed.put('top', patternStream(4, 1));
    const rawKeys = (await raw.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);
    expect(rawKeys).toEqual(['outside', 'p/a/b', 'p/folder/', 'px/zzz', 'top']);
    expect((await collect(prefixed.list(''))).map((o) => o.key)).toEqual(['a/b']);
    expect((await collect(unprefixed.list(''))).map((o) => o.key)).toEqual(['outside', 'p/a/b', 'px/zzz', 'top']);
    expect(await prefixed.stat('a/b')).toMatchObject({ key: 'a/b', size: 3 });
    raw.destroy();
  });

  it('pages through more than 1000 keys in order', async () => {
    const bucket = await createTestBucket(server.endpoint);
    const store = createS3Store(storeOptions(bucket));
    const keys = Array.from({ length: 1013 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, patternStream(1, 1))));
    }
    expect((await collect(store.list('many/'))).map((o) => o.key)).toEqual(keys);
  });

  it('describes itself without credentials', () => {
    const store = openStore({
      type: 's3',
      ...storeOptions('descr', { endpoint: 'http://user:hunter2@127.0.0.1:9000', credentials: { accessKeyId: 'AKIAX', secretAccessKey: 'sekrit' } }),
    });
    expect(store.description).toBe('s3://descr/bantay/test (endpoint http://127.0.0.1:9000)');
    expect(createS3Store({ ...storeOptions('b'), endpoint: undefined, prefix: '' }).description).toBe('s3://b/');
  });

  it('rejects invalid options', () => {
    expect(() => createS3Store(storeOptions('b', { partSizeBytes: 1024 }))).toThrow(/Invalid S3 store options/);
    expect(() => createS3Store(storeOptions('b', { prefix: 'trailing/' }))).toThrow(/Invalid S3 store options/);
  });
});
