import type { Manifest } from '../catalog/manifest.ts';
import { ErrorCode, isBantayError } from '../errors.ts';
import type { JobDeps } from './job-context.ts';
import { countRowsIn, type AdminSession } from './pg/database-admin.ts';
import { findPgRestoreFor, restoreArtifactInto } from './pg/pg-restore.ts';
import { createScratchDatabase, type ScratchDatabase, type ScratchPurpose } from './pg/scratch-database.ts';
import type { ProgressReporter } from './progress.ts';
import { checkRestoredDatabase, integrityCheck, isPassing, pgRestoreErrorsCheck, type Check } from './restore-checks.ts';

export interface RestoreCopyOptions {
  purpose: ScratchPurpose;
  /** Comment left on the scratch database for the stale cleanup (e.g. "bantay:in-place:fbms"). */
  marker?: string;
  /** Copy encoding and collation from this database (the live FBMS). */
  like?: string;
  jobs: number;
  tmpDir?: string;
  signal?: AbortSignal;
  reporter: ProgressReporter;
}

export interface RestoredCopy {
  scratch: ScratchDatabase;
  checks: Check[];
  passed: boolean;
  /** Wall time from the first byte read to a counted, judged copy. */
  seconds: number;
  pgRestoreVersion: string;
  usedTempFile: boolean;
}

/**
 * Restores a database backup into a new scratch database and judges the copy. What is wrong
 * with the backup itself (size or SHA-256 mismatch, failed authentication, pg_restore errors,
 * wrong or missing rows) becomes failed checks; what is wrong around it (no connection, missing
 * key, cancel) throws. On throw the scratch database has been dropped; otherwise the caller
 * owns it and must drop it or hand it over.
 */
export async function restoreCopy(manifest: Manifest, session: AdminSession, deps: JobDeps, options: RestoreCopyOptions): Promise<RestoredCopy> {
  const started = Date.now();
  const tool = await findPgRestoreFor(manifest, deps.pgBinDir);
  options.reporter.phase?.('preparing', `scratch database for ${manifest.id}`);
  const scratch = await createScratchDatabase(session, { purpose: options.purpose, tag: manifest.id, like: options.like, marker: options.marker });
  try {
    const checks = await restoreAndJudge(manifest, deps, scratch, tool, options);
    return {
      scratch,
      checks: checks.list,
      passed: isPassing(checks.list),
      seconds: (Date.now() - started) / 1000,
      pgRestoreVersion: tool.version,
      usedTempFile: checks.usedTempFile,
    };
  } catch (err) {
    await scratch.drop().catch(() => undefined);
    throw err;
  }
}

async function restoreAndJudge(
  manifest: Manifest,
  deps: JobDeps,
  scratch: ScratchDatabase,
  tool: Awaited<ReturnType<typeof findPgRestoreFor>>,
  options: RestoreCopyOptions,
): Promise<{ list: Check[]; usedTempFile: boolean }> {
  const usedTempFile = options.jobs > 1;
  let outcome;
  try {
    outcome = await restoreArtifactInto(manifest, deps, tool, {
      targetUrl: scratch.url,
      targetName: scratch.name,
      jobs: options.jobs,
      tmpDir: options.tmpDir,
      signal: options.signal,
      reporter: options.reporter,
    });
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.Integrity) return { list: [integrityCheck(err.message)], usedTempFile };
    // pg_restore gave up (e.g. an archive it cannot parse): a verdict on the backup, not a crash.
    if (isBantayError(err) && err.code === ErrorCode.Tool && !options.signal?.aborted) {
      return { list: [{ name: 'pg_restore', status: 'failed', detail: err.message }], usedTempFile };
    }
    throw err;
  }
  options.reporter.phase?.('checking', `row counts of ${scratch.name} against the manifest`);
  const counts = await countRowsIn(scratch.url);
  return {
    list: [integrityCheck(undefined), pgRestoreErrorsCheck(outcome.errorCount, outcome.errors), ...checkRestoredDatabase(manifest.tables, counts)],
    usedTempFile: outcome.usedTempFile,
  };
}
