import { DEFAULT_LOCK_TIMEOUT_MS, tellLockWaits } from './pg/lock-watch.ts';
import { findUsableBackup } from './find-backup.ts';
import { parseBackupId } from '../catalog/backup-id.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { checkBackupOrigin, liveIdentity, type BackupOrigin } from './backup-origin.ts';
import { cleanupLeftovers, describeCleanup } from './cleanup-leftovers.ts';
import { consumeInPlaceAuthorization, type InPlaceAuthorization } from './authorization/in-place-authorization.ts';
import { applyInPlaceSteps, type InPlaceRun } from './in-place-steps.ts';
import type { JobDeps } from './job-context.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import { databaseExists, nameWithSuffix, openAdminSession } from './pg/database-admin.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { asRestoreError, auditor, type RestoreResult, type RestoreSpec } from './restore-database.ts';
import { assertDatabaseBackup } from './verify-backup.ts';

export type InPlaceStepKind = 'safety-backup' | 'restore-copy' | 'copy-attributes' | 'stop-app' | 'close-connections' | 'swap' | 'start-app' | 'confirm';

export interface InPlaceStep {
  kind: InPlaceStepKind;
  /** What the step does, for the confirmation prompt, --dry-run and the audit log. */
  description: string;
  /** For hooks: the configured command. */
  command?: string;
}

export interface InPlacePlan {
  backupId: string;
  live: string;
  /** The name the current live database keeps after the swap, until someone drops it. */
  keepAs: string;
  steps: InPlaceStep[];
  /** Where the backup came from and where it goes, both named (dry run, confirmation, Slack modal). */
  origin?: BackupOrigin;
}

export interface InPlaceInput {
  backupId: string;
  live: string;
  at: Date;
  jobs: number;
  stopCommand?: string;
  startCommand?: string;
  origin?: BackupOrigin;
}

/**
 * The steps of an in-place restore, decided before anything happens (pure). The order is the
 * safety argument: nothing touches the live database until a verified copy exists beside it;
 * the only moment the live name changes hands is one transaction; the old database is kept.
 */
export function planInPlaceRestore(input: InPlaceInput): InPlacePlan {
  const stamp = input.at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const keepAs = nameWithSuffix(input.live, `_pre_restore_${stamp}`);
  const { live } = input;
  const from = input.origin && !input.origin.sameDatabase ? ` (a backup of ANOTHER database: ${input.origin.backup})` : '';
  const steps: InPlaceStep[] = [
    { kind: 'safety-backup', description: `take a safety backup of ${live} (label pre-restore)` },
    { kind: 'restore-copy', description: `restore ${input.backupId}${from} into a temporary database (pg_restore --jobs=${input.jobs}), create the roles it needs that are missing, and verify it against the manifest` },
    { kind: 'copy-attributes', description: `give the copy ${live}'s owner, database grants and settings` },
  ];
  if (input.stopCommand) steps.push({ kind: 'stop-app', description: `stop the application: ${input.stopCommand}`, command: input.stopCommand });
  steps.push(
    { kind: 'close-connections', description: `close ${live} to new connections and terminate its sessions` },
    { kind: 'swap', description: `in one transaction: rename ${live} to ${keepAs} and the verified copy to ${live}` },
  );
  if (input.startCommand) steps.push({ kind: 'start-app', description: `start the application: ${input.startCommand}`, command: input.startCommand });
  steps.push({ kind: 'confirm', description: `confirm ${live} accepts connections and holds the backup's tables` });
  return { backupId: input.backupId, live, keepAs, steps, ...(input.origin ? { origin: input.origin } : {}) };
}

export type InPlaceSpec = RestoreSpec & {
  hooks: { stop?: string; start?: string; timeoutSeconds: number };
  /**
   * --from-other-database: the backup may come from another database or server than the live
   * one (checkBackupOrigin). Without it such a restore is refused before anything happens.
   */
  fromOtherDatabase?: boolean;
  /** The second person's approval, or the CLI's typed confirmation; refused without one. */
  authorization: InPlaceAuthorization | undefined;
};

const LIVE_LOCK_CLASS = 74203;

/**
 * Restores a backup over the live FBMS database (the one in DATABASE_URL), following
 * planInPlaceRestore. If anything fails before the swap, the live database is left as it was
 * (reopened, application restarted) and the copy dropped; after the swap the old database stays
 * under `keptAs` so the restore can be rolled back by renaming (the README ("Recovery")).
 */
export async function restoreInPlace(spec: InPlaceSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<RestoreResult> {
  const started = Date.now();
  if (spec.backup.trim() === 'latest') {
    throw new BantayError(ErrorCode.InvalidInput, 'An in-place restore needs an explicit backup id, not "latest" (see bantay list)');
  }
  const manifest = await findUsableBackup(deps, parseBackupId(spec.backup), { operation: 'restore', trigger: spec.trigger });
  assertDatabaseBackup(manifest);
  const live = describeDatabaseUrl(spec.databaseUrl).database;
  const authorized = auditor(deps, spec.trigger, manifest.id, live);
  let grant: Record<string, unknown> = {};
  const audit: typeof authorized = (step, status, details = {}, seconds) => authorized(step, status, { ...details, ...grant }, seconds);
  try {
    const choices = { acceptRestoreErrors: spec.acceptRestoreErrors === true, fromOtherDatabase: spec.fromOtherDatabase === true };
    grant = { ...(await consumeInPlaceAuthorization(deps.state, spec.authorization, { backupId: manifest.id, kind: 'database', choices }, new Date(started))) };
  } catch (err) {
    await audit('restore in place', 'refused', { error: (err as Error).message }).catch(() => undefined);
    throw err;
  }
  // A name of its own, so the lock watcher finds this restore's admin session (and only it).
  const applicationName = `bantay-admin restore ${manifest.id} ${process.pid}`;
  const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs, applicationName });
  // A swap (or any admin step) behind another session's lock says who holds it while it waits.
  const watcher = tellLockWaits(session.url, [applicationName.slice(0, 63)], {
    timeoutMs: deps.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    job: { name: 'the restore', object: `the database ${live}` },
    warn: (m) => reporter.warn?.(m),
    logger: deps.logger,
    context: { backupId: manifest.id },
  });
  try {
    if (!(await databaseExists(session.client, live))) throw new BantayError(ErrorCode.NotFound, `The live database ${live} does not exist; restore with --target-db ${live} instead`);
    const origin = checkBackupOrigin(manifest, liveIdentity(spec.databaseUrl, session));
    const plan = planInPlaceRestore({ backupId: manifest.id, live, at: new Date(started), jobs: spec.jobs, stopCommand: spec.hooks.stop, startCommand: spec.hooks.start, origin });
    if (!origin.sameDatabase && spec.fromOtherDatabase !== true) {
      throw new BantayError(ErrorCode.InvalidInput, `${origin.reason}; nothing was changed. Restoring it over ${live} anyway has to be asked for explicitly (--from-other-database at the console, "another database" in the Slack restore form)`, {
        details: [`Backup: ${origin.backup}`, `Live database: ${origin.live}`],
      });
    }
    const lock = await session.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LIVE_LOCK_CLASS, live]);
    if (!lock.rows[0]!.ok) throw new BantayError(ErrorCode.Database, `Another in-place restore of ${live} is running`);
    await audit('restore in place', 'started', {
      keepAs: plan.keepAs,
      steps: plan.steps.map((s) => s.kind),
      backupOf: origin.backup,
      live: origin.live,
      fromOtherDatabase: !origin.sameDatabase,
      noOwner: spec.noOwner === true,
      acceptRestoreErrors: spec.acceptRestoreErrors === true,
    });
    for (const line of describeCleanup(await cleanupLeftovers(session, deps.state, { tmpDir: spec.tmpDir }))) reporter.warn?.(line);
    const run: InPlaceRun = { manifest, plan, session, spec, deps, reporter, audit };
    const outcome = await applyInPlaceSteps(run);
    const durationSeconds = (Date.now() - started) / 1000;
    const result: RestoreResult = { backupId: manifest.id, target: live, mode: 'in-place', durationSeconds, ...outcome };
    await audit('restore in place', 'succeeded', { keptAs: plan.keepAs, rtoSeconds: result.rtoSeconds, downtimeSeconds: result.downtimeSeconds, safetyBackupId: result.safetyBackupId, createdRoles: result.createdRoles, restoreErrors: result.restoreErrors.length }, durationSeconds);
    return result;
  } catch (err) {
    const error = asRestoreError(err, spec.signal);
    await audit('restore in place', error.code === ErrorCode.InvalidInput ? 'refused' : error.classification.outcome, { error: error.message }, (Date.now() - started) / 1000).catch(() => undefined);
    throw error;
  } finally {
    await watcher.stop();
    await session.close();
  }
}
