import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPgCluster, type PgCluster } from '../../src/dev/pg-cluster.ts';
import { startS3TestServer, type S3TestServer } from './s3-server.ts';

/**
 * Starts the real servers every test file shares: one throwaway PostgreSQL cluster (or the one
 * in TEST_DATABASE_URL) and one S3-compatible server on loopback. Tests create their own
 * databases and buckets inside them, so files can run in parallel.
 */
let pg: PgCluster | undefined;
let s3: S3TestServer | undefined;
let runTmp: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Every temporary directory of the run (os.tmpdir() in the test workers, forked after this,
  // and in every program they start) lives in one directory that teardown removes: test
  // clusters, stores and recovered data directories of hundreds of MB no longer pile up in
  // /tmp run after run until the disk is full. 1777 as /tmp itself: programs the clusters' own
  // user runs (archive_command, restore_command) make their temporary files here too.
  runTmp = mkdtempSync(join(tmpdir(), 'bantay-test-run-'));
  chmodSync(runTmp, 0o1777);
  process.env.TMPDIR = runTmp;
  // As bin/bantay.js: the AWS SDK's Node 22 reminder would be printed by every worker and CLI run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  [pg, s3] = await Promise.all([startPgCluster({ externalUrl: process.env.TEST_DATABASE_URL }), startS3TestServer()]);
  project.provide('pgAdminUrl', pg.adminUrl);
  project.provide('s3Endpoint', s3.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([pg?.stop(), s3?.stop()]);
  if (runTmp !== undefined) rmSync(runTmp, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of a superuser on the shared test cluster (database "postgres"). */
    pgAdminUrl: string;
    /** http://127.0.0.1:PORT of the shared S3 test server (any access key/secret is accepted). */
    s3Endpoint: string;
  }
}
