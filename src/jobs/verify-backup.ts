import { randomBytes } from 'node:crypto';
import { findUsableBackup } from './find-backup.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { writeVerification, type VerificationRecord } from '../catalog/verification.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { classifiedError } from '../failure.ts';
import { recordAudit } from '../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import { BANTAY_VERSION } from '../version.ts';
import { cleanupLeftovers, describeCleanup } from './cleanup-leftovers.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import { openAdminSession, type AdminSession } from './pg/database-admin.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { restoreCopy } from './restore-copy.ts';
import { failureReasons } from './restore-checks.ts';

export interface VerifySpec {
  /** A backup id, or "latest" for the newest database backup. */
  backup: string;
  /** The FBMS database: scratch databases are created on its server, with its encoding. */
  databaseUrl: string;
  maintenanceDb: string;
  /** pg_restore --jobs (see pg-restore.ts for what more than 1 costs). */
  jobs: number;
  tmpDir?: string;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface VerifyResult extends VerificationRecord {
  /** Where the record was stored, next to the manifest. */
  recordKey: string;
  scratchDatabase: string;
  /** Wall time to a restored and checked copy (restore + counts). */
  restoreSeconds: number;
  usedTempFile: boolean;
}

/**
 * Verifies a database backup the only way that proves anything: restores it into a scratch
 * database with a unique name, checks integrity, pg_restore errors, exact row counts,
 * sequences, large objects, views, object counts and BANTAY_REQUIRED_TABLES, then drops the scratch database (on every path). A backup that fails is
 * a result, not an exception: the result says why, and it is recorded in the catalog and the
 * audit log either way. Throws only when the verify itself could not run.
 */
export async function verifyBackup(spec: VerifySpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<VerifyResult> {
  const manifest = await findUsableBackup(deps, spec.backup, { operation: 'verify', trigger: spec.trigger, kind: spec.backup === 'latest' ? 'database' : undefined });
  assertDatabaseBackup(manifest);
  const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
  try {
    return await verifyManifest(manifest, session, { ...spec, source: 'verify' }, deps, reporter);
  } finally {
    await session.close();
  }
}

export function assertDatabaseBackup(manifest: Manifest): void {
  if (manifest.kind !== 'database') {
    throw new BantayError(ErrorCode.InvalidInput, `${manifest.id} is not a database backup (kind ${manifest.kind}); only database backups can be verified and restored this way`);
  }
}

/** verifyBackup on an open admin session, for callers verifying several backups (drill). */
export async function verifyManifest(
  manifest: Manifest,
  session: AdminSession,
  spec: Omit<VerifySpec, 'backup' | 'maintenanceDb'> & { source: VerificationRecord['source'] },
  deps: JobDeps,
  reporter: ProgressReporter,
): Promise<VerifyResult> {
  const started = deps.now?.() ?? new Date();
  const runId = `verify-${manifest.id}-${randomBytes(3).toString('hex')}`;
  await startJobRun(deps.state, { id: runId, job: 'verify database', performedBy: spec.trigger.by, backupId: manifest.id });
  try {
    for (const line of describeCleanup(await cleanupLeftovers(session, deps.state, { tmpDir: spec.tmpDir }))) reporter.warn?.(line);
    const like = describeDatabaseUrl(spec.databaseUrl).database;
    // A verify never adds roles to the server (prepare-roles.ts): missing ones are reported instead.
    const copy = await restoreCopy(manifest, session, deps, { purpose: 'verify', like, jobs: spec.jobs, tmpDir: spec.tmpDir, signal: spec.signal, reporter, roles: 'if-present' });
    reporter.phase?.('cleaning up', `dropping ${copy.scratch.name}`);
    await copy.scratch.drop();
    const finished = deps.now?.() ?? new Date();
    const record: VerificationRecord = {
      formatVersion: 2,
      backupId: manifest.id,
      source: spec.source,
      verifiedAt: finished.toISOString(),
      passed: copy.passed,
      durationSeconds: (finished.getTime() - started.getTime()) / 1000,
      checks: copy.checks,
      performedBy: spec.trigger.by,
      tools: { bantay: BANTAY_VERSION, pg_restore: copy.pgRestoreVersion },
    };
    reporter.phase?.('recording', `verification of ${manifest.id}: ${record.passed ? 'passed' : 'FAILED'}`);
    const recordKey = await storeRecord(deps, record, reporter);
    await recordOutcome(deps, runId, record, { recordKey, scratchDatabase: copy.scratch.name, via: spec.trigger.via });
    return { ...record, recordKey, scratchDatabase: copy.scratch.name, restoreSeconds: copy.seconds, usedTempFile: copy.usedTempFile };
  } catch (err) {
    throw await recordFailure(deps, runId, manifest.id, spec, started, err);
  }
}

/**
 * A verify that could not run (as opposed to a backup that failed it): job run and audit say
 * why, classified (src/failure.ts). When infrastructure failed (the store unreachable after
 * retries, the scratch server gone) the outcome is "could not check": it says nothing about the
 * backup, and monitoring words it so, instead of "FAILED verification". Also the database
 * check's (check-database.ts), as "Check" with the database in the details.
 */
export async function recordFailure(
  deps: JobDeps,
  runId: string,
  backupId: string,
  spec: { trigger: Trigger; signal?: AbortSignal },
  started: Date,
  err: unknown,
  as: { what: string; details?: Record<string, unknown> } = { what: 'Verify' },
): Promise<BantayError> {
  const error = classifiedError(as.what, err, { cancelled: spec.signal?.aborted === true, checking: true });
  const c = error.classification;
  await finishJobRun(deps.state, runId, { status: c.outcome, backupId, errorMessage: error.message, cause: c.cause }).catch(() => undefined);
  await recordAudit(deps.state, {
    operationType: 'verify',
    backupType: 'database',
    status: c.outcome,
    backupId,
    durationSeconds: ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000,
    errorMessage: error.message,
    performedBy: spec.trigger.by,
    details: { completed: false, ...as.details, via: spec.trigger.via, classification: { outcome: c.outcome, cause: c.cause } },
  }).catch((e: unknown) => deps.logger.error({ err: e }, 'could not write the audit row'));
  return error;
}

/**
 * The verification record is evidence next to the backup, but the result itself is already
 * known: when the store refuses the write (e.g. the primary is down and reads fell back to the
 * secondary), warn and go on; the audit log still has the outcome.
 */
async function storeRecord(deps: JobDeps, record: VerificationRecord, reporter: ProgressReporter): Promise<string> {
  try {
    return await writeVerification(deps.store, record, deps);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    reporter.warn?.(`Could not store the verification record in ${deps.store.description} (${reason}); the result is in the audit log only.`);
    deps.logger.warn({ err, backupId: record.backupId }, 'verification record not stored');
    return '(not stored)';
  }
}

async function recordOutcome(deps: JobDeps, runId: string, record: VerificationRecord, extra: { recordKey: string; scratchDatabase: string; via: string }): Promise<void> {
  const reasons = failureReasons(record.checks);
  await finishJobRun(deps.state, runId, record.passed ? { status: 'succeeded', backupId: record.backupId } : { status: 'failed', backupId: record.backupId, errorMessage: reasons.join('; ') });
  await recordAudit(deps.state, {
    operationType: 'verify',
    backupType: 'database',
    status: record.passed ? 'succeeded' : 'failed',
    filePath: extra.recordKey,
    backupId: record.backupId,
    durationSeconds: record.durationSeconds,
    errorMessage: record.passed ? undefined : reasons.join('; ').slice(0, 2000),
    performedBy: record.performedBy,
    details: { completed: true, passed: record.passed, checks: record.checks.length, failed: reasons, scratchDatabase: extra.scratchDatabase, via: extra.via },
  });
  const log = { backupId: record.backupId, passed: record.passed, durationSeconds: record.durationSeconds };
  if (record.passed) deps.logger.info(log, 'backup verified');
  else deps.logger.warn({ ...log, reasons }, 'backup FAILED verification');
}
