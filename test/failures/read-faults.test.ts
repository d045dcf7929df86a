import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { classifyFailure, exitCodeOf } from '../../src/failure.ts';
import { BantayError } from '../../src/errors.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { verifyBackup } from '../../src/jobs/verify-backup.ts';
import { listAudit } from '../../src/state/audit-log.ts';
import { createS3Store } from '../../src/storage/s3-store.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';
import { recoveryOptions } from '../support/recovery.ts';
import { createTestBucket, TEST_S3_CREDENTIALS, TEST_S3_REGION } from '../support/s3-server.ts';

/**
 * Transient read errors are retried, not turned into verdicts: a connection reset (or a stall)
 * in the middle of an artifact's GET resumes with a Range request and the verify passes, its
 * digests covering every byte; when the store stays broken the verify "could not check".
 */
let source: { url: string; name: string };
let proxy: FaultProxy;
let bucket: string;
let env: Awaited<ReturnType<typeof makeDeps>>;
let backup: Manifest;

function storeVia(endpoint: string, idleTimeoutMs?: number) {
  return createS3Store({ bucket, prefix: 'fbms', endpoint, region: TEST_S3_REGION, forcePathStyle: true, credentials: TEST_S3_CREDENTIALS, maxAttempts: 2, idleTimeoutMs });
}

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.3 });
  bucket = await createTestBucket(inject('s3Endpoint'));
  proxy = await startFaultProxy(inject('s3Endpoint'));
  env = await makeDeps({ store: storeVia(inject('s3Endpoint')) });
  backup = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, env.deps);
  expect(backup.artifact.sizeBytes).toBeGreaterThan(300_000);
});
afterAll(async () => {
  await env.close();
  await proxy.stop();
  await dropDatabase(source.name);
});

function depsVia(idleTimeoutMs?: number): JobDeps {
  return { ...env.deps, store: storeVia(proxy.endpoint, idleTimeoutMs) };
}

describe('reading an artifact through a faulty network', () => {
  it('a connection reset mid-GET during verify is resumed with a Range request and the verify passes', async () => {
    proxy.clear();
    proxy.add({ method: 'GET', url: backup.artifact.key, fault: { kind: 'reset-response', afterBytes: 100_000 }, times: 2 });
    const warnings: string[] = [];
    const result = await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url, 1), trigger: cliTrigger }, depsVia(), { warn: (m) => warnings.push(m) });
    expect(result.passed).toBe(true);
    expect(result.checks.find((c) => c.name === 'integrity')).toMatchObject({ status: 'passed' });
    const gets = proxy.seen().filter((r) => r.method === 'GET' && r.url.includes(backup.artifact.key));
    expect(gets.length).toBe(3);
    expect(gets[1]!.headers.range).toBe('bytes=100000-');
    expect(gets[2]!.headers.range).toBe('bytes=200000-');
    expect(gets[1]!.headers['if-match']).toBeDefined();
    expect(warnings.some((w) => /broke off at byte 100000.*resuming/.test(w))).toBe(true);
  });

  it('a stalled GET is cut by the idle timeout and resumed', async () => {
    proxy.clear();
    // The first GET of the artifact stalls before answering; the idle timeout (1 s) ends it.
    proxy.add({ method: 'GET', url: backup.artifact.key, fault: { kind: 'stall', ms: 10_000 }, times: 1 });
    const result = await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url, 1), trigger: cliTrigger }, depsVia(1000));
    expect(result.passed).toBe(true);
  });

  it('a store that breaks off and then keeps failing: the verify could not check (not FAILED), exit code 3, audited so', async () => {
    proxy.clear();
    // Resets mid-body, then answers every resumption with 500s: the retries run out.
    proxy.add({ method: 'GET', url: backup.artifact.key, fault: { kind: 'reset-response', afterBytes: 50_000 }, times: 1 });
    proxy.add({ method: 'GET', url: backup.artifact.key, fault: { kind: 'status', status: 503, code: 'ServiceUnavailable' } });
    const err = (await verifyBackup({ backup: backup.id, ...recoveryOptions(source.url, 1), trigger: cliTrigger }, depsVia()).catch((e: unknown) => e)) as BantayError;
    expect(err).toBeInstanceOf(BantayError);
    expect(err.message).toMatch(/^Verify could not be checked: the backup store could not be reached/);
    const c = classifyFailure(err);
    expect(c).toMatchObject({ outcome: 'could-not-check', cause: 'store-unreachable' });
    expect(exitCodeOf(c)).toBe(3);
    const [audit] = (await listAudit(env.deps.state)).filter((a) => a.operationType === 'verify');
    expect(audit).toMatchObject({ status: 'could-not-check', backupId: backup.id });
    const runs = await env.deps.state.query<{ status: string; failure_cause: string }>(`SELECT status, failure_cause FROM job_runs WHERE job = 'verify database' ORDER BY started_at DESC LIMIT 1`);
    expect(runs).toEqual([{ status: 'could-not-check', failure_cause: 'store-unreachable' }]);
    proxy.clear();
  });
});
