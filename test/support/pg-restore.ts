import { pipeline } from 'node:stream/promises';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { childEnv } from '../../src/jobs/pg/connection.ts';
import { runTool } from '../../src/jobs/pg/run-tool.ts';
import { openArtifact } from '../../src/jobs/read-artifact.ts';

/** Plain `pg_restore --exit-on-error -d TARGET FILE`, as an operator without Bantay would run it. */
export async function pgRestoreFile(file: string, targetUrl: string): Promise<void> {
  const tool = runTool(pgBinary('pg_restore'), ['--exit-on-error', '--no-owner', `--dbname=${new URL(targetUrl).pathname.slice(1)}`, file], { env: childEnv(targetUrl), name: 'pg_restore' });
  tool.child.stdout.resume();
  await tool.done;
}

/** Streams a backup's checked, decrypted plaintext into `pg_restore -d TARGET` (stdin). */
export async function restoreBackupInto(manifest: Manifest, deps: JobDeps, targetUrl: string): Promise<void> {
  const input = await openArtifact(manifest, deps);
  const tool = runTool(pgBinary('pg_restore'), ['--exit-on-error', '--no-owner', `--dbname=${new URL(targetUrl).pathname.slice(1)}`], { env: childEnv(targetUrl), stdin: true, name: 'pg_restore' });
  tool.child.stdout.resume();
  const results = await Promise.allSettled([pipeline(input, tool.child.stdin!), tool.done]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw results[0].status === 'rejected' ? results[0].reason : failed.reason;
}
