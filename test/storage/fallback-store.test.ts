import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { findBackup, listBackups } from '../../src/catalog/catalog.ts';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { KeyRing } from '../../src/crypto/keys.ts';
import { openArtifact } from '../../src/jobs/read-artifact.ts';
import { createFallbackStore, isUnreachableError } from '../../src/storage/fallback-store.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { createMemoryStore } from '../../src/storage/memory-store.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { putFakeBackup } from '../support/fake-backups.ts';
import { tempDir } from '../support/job-deps.ts';
import { TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';
import { NO_KEY } from '../support/trust.ts';

/** A port nothing listens on: bind, note the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const s3At = (endpoint: string) =>
  createS3Store({ bucket: 'fbms-backups', prefix: 'prod', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, maxAttempts: 2 });

describe('createFallbackStore', () => {
  it('the data-center outage: primary endpoint refuses connections, reads come from the secondary with one warning', async () => {
    const primary = s3At(`http://127.0.0.1:${await closedPort()}`);
    const secondary = createLocalStore(tempDir());
    const backup = await putFakeBackup(secondary, { createdAt: new Date(Date.now() - 3_600_000), sizeBytes: 100_000 });
    const warnings: string[] = [];
    const store = createFallbackStore({ primary, secondary, onFallback: (w) => warnings.push(w) });
    expect(store.activeLocation).toBe('primary');
    expect((await listBackups(store, NO_KEY)).map((m) => m.id)).toEqual([backup.id]);
    const manifest = await findBackup(store, NO_KEY, 'latest', 'database');
    const bytes = await buffer(await openArtifact(manifest, { store, keyRing: new KeyRing(undefined, []) }));
    expect(bytes.length).toBe(100_000);
    expect(store.activeLocation).toBe('secondary');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/primary store \(s3:\/\/fbms-backups\/prod .*\) is unreachable .*reading from the secondary \(local:/);
    expect(store.description).toContain('secondary; primary unreachable');
  });

  it('falls back on HTTP 5xx from the primary (after the S3 client retried)', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const secondary = createMemoryStore();
      await secondary.put('backups/x.txt', Readable.from([Buffer.from('hello')]));
      const warnings: string[] = [];
      const store = createFallbackStore({ primary: s3At(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), secondary, onFallback: (w) => warnings.push(w) });
      expect((await buffer(await store.get('backups/x.txt'))).toString()).toBe('hello');
      expect(warnings).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('does not fall back for answers about the data: a missing object on a reachable primary is NOT_FOUND', async () => {
    const primary = createMemoryStore();
    const secondary = createMemoryStore();
    await secondary.put('backups/only-here', Readable.from([Buffer.from('x')]));
    const store = createFallbackStore({ primary, secondary, onFallback: () => expect.unreachable('no fallback expected') });
    await expect(store.get('backups/only-here')).rejects.toMatchObject({ code: ErrorCode.NotFound });
    expect(await store.stat('backups/only-here')).toBeUndefined();
    expect(store.activeLocation).toBe('primary');
  });

  it('never writes or deletes at the secondary, even after falling back', async () => {
    const primary = s3At(`http://127.0.0.1:${await closedPort()}`);
    const secondary = createMemoryStore();
    const store = createFallbackStore({ primary, secondary });
    for await (const _ of store.list('backups/')) break;
    expect(store.activeLocation).toBe('secondary');
    await expect(store.put('backups/new', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: ErrorCode.Storage });
    expect(await secondary.stat('backups/new')).toBeUndefined();
  });

  it('classifies errors: connection-level and 5xx are unreachable; not found, integrity and 4xx are not', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(isUnreachableError(new BantayError(ErrorCode.Storage, 'S3 list: connect ECONNREFUSED', { cause: refused }))).toBe(true);
    expect(isUnreachableError(new AggregateError([refused], 'all attempts failed'))).toBe(true);
    expect(isUnreachableError(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 502 } }))).toBe(true);
    expect(isUnreachableError(Object.assign(new Error('stale file handle'), { code: 'ESTALE' }))).toBe(true);
    expect(isUnreachableError(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(false);
    expect(isUnreachableError(new BantayError(ErrorCode.NotFound, 'nope'))).toBe(false);
    expect(isUnreachableError(new BantayError(ErrorCode.Integrity, 'bad bytes', { cause: refused }))).toBe(false);
  });
});
