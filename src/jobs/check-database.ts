import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import { findUsableBackup } from './find-backup.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { withDatabase } from './pg/connection.ts';
import { databaseExists, openAdminSession, parseDatabaseName } from './pg/database-admin.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { readRestoredState } from './restore-copy.ts';
import { checkRestoredDatabase, failureReasons, isPassing, type Check } from './restore-checks.ts';
import { assertDatabaseBackup, recordFailure } from './verify-backup.ts';

export interface CheckDatabaseSpec {
  /** The backup the database was restored from (for a point-in-time recovery, its kept copy). */
  backup: string;
  /** The FBMS database URL: the checked database is on its server. */
  databaseUrl: string;
  maintenanceDb: string;
  /** The database to check: a restored copy, or the live database after an in-place restore. */
  database: string;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface CheckDatabaseResult {
  backupId: string;
  database: string;
  passed: boolean;
  checks: Check[];
  durationSeconds: number;
}

/**
 * Checks a database that already exists against the contents its backup recorded (exact row
 * counts, sequences, large objects, views, object counts, BANTAY_REQUIRED_TABLES): the
 * "verify the restored database" of a runbook, which looks at the database people will use
 * rather than restoring the backup again. Read-only. Unlike `verify` it proves nothing about
 * the backup (a database written to after the restore differs from it), so it writes no
 * verification record; the outcome is in the job runs and the audit log (operation verify,
 * details.database). A mismatch is a result, not an exception.
 */
export async function checkDatabaseAgainstBackup(spec: CheckDatabaseSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<CheckDatabaseResult> {
  const database = parseDatabaseName(spec.database);
  const manifest = await findUsableBackup(deps, spec.backup, { operation: 'verify', trigger: spec.trigger });
  assertDatabaseBackup(manifest);
  const started = deps.now?.() ?? new Date();
  const runId = `check-${manifest.id}-${randomBytes(3).toString('hex')}`;
  await startJobRun(deps.state, { id: runId, job: 'check database', performedBy: spec.trigger.by, backupId: manifest.id });
  try {
    const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
    try {
      if (!(await databaseExists(session.client, database))) throw new BantayError(ErrorCode.NotFound, `There is no database ${database} on the server to check`);
    } finally {
      await session.close();
    }
    if (spec.signal?.aborted) throw new BantayError(ErrorCode.Aborted, 'Check cancelled');
    reporter.phase?.('checking', `contents of ${database} against ${manifest.id}`);
    const restored = await readRestoredState(manifest, withDatabase(spec.databaseUrl, database));
    const checks = checkRestoredDatabase(manifest, restored, { requiredTables: deps.requiredTables });
    const passed = isPassing(checks);
    const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000;
    const reasons = failureReasons(checks);
    await finishJobRun(deps.state, runId, passed ? { status: 'succeeded', backupId: manifest.id } : { status: 'failed', backupId: manifest.id, errorMessage: reasons.join('; ') });
    await recordAudit(deps.state, {
      operationType: 'verify',
      backupType: 'database',
      status: passed ? 'succeeded' : 'failed',
      backupId: manifest.id,
      durationSeconds,
      errorMessage: passed ? undefined : reasons.join('; ').slice(0, 2000),
      performedBy: spec.trigger.by,
      details: { completed: true, passed, checks: checks.length, failed: reasons, database, via: spec.trigger.via },
    });
    return { backupId: manifest.id, database, passed, checks, durationSeconds };
  } catch (err) {
    throw await recordFailure(deps, runId, manifest.id, spec, started, err, { what: 'Check', details: { database } });
  }
}
