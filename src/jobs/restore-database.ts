import { printable } from '../catalog/backup-id.ts';
import { findUsableBackup } from './find-backup.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { writeVerification, type Check } from '../catalog/verification.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import { BANTAY_VERSION } from '../version.ts';
import { cleanupLeftovers, describeCleanup } from './cleanup-leftovers.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import { databaseExists, dropDatabase, nameWithSuffix, openAdminSession, parseDatabaseName, runAtomically, type AdminSession } from './pg/database-admin.ts';
import { applyDatabaseAttributes, existingRoleNames } from './pg/database-attributes.ts';
import { closeForSwap, forgetSwapClosed, reopenLive, swapDatabases } from './pg/swap-database.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { restoreCopy, type RestoredCopy } from './restore-copy.ts';
import { failureReasons } from './restore-checks.ts';
import { classifiedError, type ClassifiedError } from '../failure.ts';
import { assertDatabaseBackup, type VerifySpec } from './verify-backup.ts';

/** What an operator may ask of a restore beyond a verify's settings. */
export interface RestoreOptions {
  /**
   * --no-owner: create no roles; pg_restore --no-owner --no-privileges, so every object belongs
   * to Bantay's role and no GRANTs are restored (for targets where creating roles is not wanted).
   */
  noOwner?: boolean;
  /**
   * --accept-restore-errors: a copy with pg_restore errors may still be put in place; the errors
   * are listed in the result. Data checks (rows, sequences, large objects, required tables) must
   * still pass. In Slack this needs a second person's approval (the bot's approval flow).
   */
  acceptRestoreErrors?: boolean;
}

/**
 * What a restore needs: the same as a verify (the backup, the FBMS server it restores on,
 * pg_restore jobs, temp dir, who asked) plus RestoreOptions; "latest" is accepted for a new
 * database and refused in place.
 */
export type RestoreSpec = VerifySpec & RestoreOptions;

export interface RestoreResult {
  backupId: string;
  target: string;
  mode: 'new' | 'replace' | 'in-place';
  /** The checks the restored copy passed before it took the target name. */
  checks: Check[];
  /** Measured RTO: wall time from the start to a restored, verified database under the target name. */
  rtoSeconds: number;
  /** Restore and check of the copy alone. */
  restoreSeconds: number;
  durationSeconds: number;
  usedTempFile: boolean;
  /** In place: the name the previous live database keeps until you drop it. */
  keptAs?: string;
  /** In place: the catalogued backup taken just before, labelled pre-restore. */
  safetyBackupId?: string;
  /** In place: seconds between stopping and starting the application (or closing and reopening the database). */
  downtimeSeconds?: number;
  /** Roles the restore created because the server lacked them; what it left out on purpose. */
  createdRoles: string[];
  notes: string[];
  /** pg_restore's error lines (empty unless --accept-restore-errors let a copy with errors through). */
  restoreErrors: string[];
  noOwner: boolean;
}

const RESERVED = /^bantay_(verify|restore)_/;

/** A target name from a user: valid, not reserved for scratch databases, not the live FBMS. */
export function parseRestoreTarget(value: string, liveDatabase: string): string {
  const name = parseDatabaseName(value);
  if (RESERVED.test(name)) throw new BantayError(ErrorCode.InvalidInput, `Database names starting with bantay_verify_ or bantay_restore_ are reserved for Bantay's scratch databases`);
  if (name === liveDatabase) {
    throw new BantayError(ErrorCode.InvalidInput, `${name} is the live FBMS database (DATABASE_URL); to restore over it use --in-place, which keeps the current one`);
  }
  if (SYSTEM_DATABASES.has(name)) {
    throw new BantayError(ErrorCode.InvalidInput, `${name} is a PostgreSQL system database; choose another --target-db`);
  }
  return name;
}

/** Replacing one would change every database created afterwards (templates) or cut off every admin session. */
const SYSTEM_DATABASES = new Set(['template0', 'template1', 'postgres']);

/**
 * Whether a restore may go to `target` (a name parseRestoreTarget accepted): never the
 * maintenance database, an existing one only with `replace`. True when it exists. Point-in-time
 * recovery asks before it recovers, so a taken name is refused in seconds, not after the replay.
 */
export async function checkNewTarget(session: AdminSession, target: string, spec: { maintenanceDb: string; replace: boolean }): Promise<boolean> {
  if (target === spec.maintenanceDb) {
    throw new BantayError(ErrorCode.InvalidInput, `${target} is the maintenance database Bantay works from (BANTAY_MAINTENANCE_DB); choose another --target-db`);
  }
  const exists = await databaseExists(session.client, target);
  if (exists && !spec.replace) {
    throw new BantayError(ErrorCode.InvalidInput, `Database ${target} already exists; choose another --target-db, or pass --replace to replace it`);
  }
  return exists;
}

/**
 * Restores a database backup into a new database on the FBMS server: restore into a scratch
 * database, check it against the manifest, and only then rename it to the target (atomically),
 * so the target name never holds a half-restored or unverified database. An existing target
 * is refused unless `replace`, which swaps the new copy in and then drops the old one.
 */
export async function restoreToNewDatabase(spec: RestoreSpec & { target: string; replace: boolean }, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<RestoreResult> {
  const started = Date.now();
  const manifest = await findUsableBackup(deps, spec.backup, { operation: 'restore', trigger: spec.trigger, kind: spec.backup === 'latest' ? 'database' : undefined });
  assertDatabaseBackup(manifest);
  const live = describeDatabaseUrl(spec.databaseUrl).database;
  const audit = auditor(deps, spec.trigger, manifest.id, printable(spec.target));
  let session: AdminSession | undefined;
  try {
    const target = parseRestoreTarget(spec.target, live);
    session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
    const exists = await checkNewTarget(session, target, spec);
    await audit('restore', 'started', { mode: exists ? 'replace' : 'new', noOwner: spec.noOwner === true, acceptRestoreErrors: spec.acceptRestoreErrors === true });
    for (const line of describeCleanup(await cleanupLeftovers(session, deps.state, { tmpDir: spec.tmpDir }))) reporter.warn?.(line);
    const copy = await restoreCheckedCopy(manifest, session, deps, { ...spec, like: live }, reporter);
    reporter.phase?.('renaming', `${copy.scratch.name} -> ${target}`);
    const notes = [...copy.roleNotes, ...(await putInPlace(session, deps, copy, target, exists))];
    const seconds = (Date.now() - started) / 1000;
    const result: RestoreResult = {
      backupId: manifest.id,
      target,
      mode: exists ? 'replace' : 'new',
      checks: copy.checks,
      rtoSeconds: seconds,
      restoreSeconds: copy.seconds,
      durationSeconds: seconds,
      usedTempFile: copy.usedTempFile,
      ...restoreFacts(copy, notes),
    };
    await audit('restore', 'succeeded', { mode: result.mode, rtoSeconds: result.rtoSeconds, createdRoles: result.createdRoles, restoreErrors: result.restoreErrors.length }, seconds);
    return result;
  } catch (err) {
    const error = asRestoreError(err, spec.signal);
    const status = error.code === ErrorCode.InvalidInput ? 'refused' : error.classification.outcome;
    await audit('restore', status, { error: error.message }, (Date.now() - started) / 1000).catch(() => undefined);
    throw error;
  } finally {
    await session?.close();
  }
}

/** The parts of a RestoreResult that come from the restored copy. */
export function restoreFacts(copy: RestoredCopy, notes: string[]): Pick<RestoreResult, 'createdRoles' | 'notes' | 'restoreErrors' | 'noOwner'> {
  const accepted = copy.checks.some((c) => c.name === 'pg_restore errors' && c.status === 'skipped');
  return { createdRoles: copy.createdRoles, notes, restoreErrors: accepted ? copy.restoreErrors : [], noOwner: copy.noOwner };
}

/**
 * Gives the verified copy the backed-up database's attributes (owner, grants, settings, comment,
 * connection limit; not owner and grants with --no-owner), then renames it to `target` (or swaps
 * it in over an existing one); drops the copy if that fails. Returns what had to be skipped.
 */
async function putInPlace(session: AdminSession, deps: JobDeps, copy: RestoredCopy, target: string, exists: boolean): Promise<string[]> {
  copy.scratch.protect();
  let skipped: string[] = [];
  try {
    if (copy.globals !== undefined) {
      const existingRoles = await existingRoleNames(session.client);
      skipped = await applyDatabaseAttributes(session.client, copy.scratch.name, copy.globals.database, { ownerAndGrants: !copy.noOwner, existingRoles });
    }
    await (exists ? replaceDatabase(session, deps, target, copy.scratch.name) : renameDatabase(session, copy.scratch.name, target, copy.globals === undefined));
  } catch (err) {
    await copy.scratch.drop().catch(() => undefined);
    throw err;
  }
  await copy.scratch.release();
  return skipped.map((s) => `database attribute not restored: ${s}`);
}

/**
 * restoreCopy, plus a verification record in the catalog; a copy that fails its checks is
 * dropped and the restore refused with the reasons: nothing unverified ever takes a real name.
 */
export async function restoreCheckedCopy(
  manifest: Manifest,
  session: AdminSession,
  deps: JobDeps,
  options: Pick<RestoreSpec, 'jobs' | 'tmpDir' | 'signal' | 'trigger' | 'noOwner' | 'acceptRestoreErrors'> & { like: string },
  reporter: ProgressReporter,
): Promise<RestoredCopy> {
  const copy = await restoreCopy(manifest, session, deps, {
    purpose: 'restore',
    like: options.like,
    jobs: options.jobs,
    tmpDir: options.tmpDir,
    signal: options.signal,
    reporter,
    roles: options.noOwner ? 'no-owner' : 'create',
    acceptRestoreErrors: options.acceptRestoreErrors,
  });
  try {
    await writeVerification(deps.store, {
      formatVersion: 2,
      backupId: manifest.id,
      source: 'restore',
      verifiedAt: new Date().toISOString(),
      passed: copy.passed,
      durationSeconds: copy.seconds,
      checks: copy.checks,
      performedBy: options.trigger.by,
      tools: { bantay: BANTAY_VERSION, pg_restore: copy.pgRestoreVersion },
    }, deps);
    if (!copy.passed) {
      throw new BantayError(ErrorCode.Integrity, `Backup ${manifest.id} failed verification after restoring it; nothing was put in place`, {
        details: failureReasons(copy.checks),
      });
    }
    return copy;
  } catch (err) {
    await copy.scratch.drop().catch(() => undefined);
    throw err;
  }
}

/** Renames; `clearComment` for backups without globals, whose scratch comment must not stay. */
async function renameDatabase(session: AdminSession, from: string, to: string, clearComment: boolean): Promise<void> {
  const { client } = session;
  const [a, b] = [client.escapeIdentifier(from), client.escapeIdentifier(to)];
  await runAtomically(client, [`ALTER DATABASE ${a} RENAME TO ${b}`, ...(clearComment ? [`COMMENT ON DATABASE ${b} IS NULL`] : [])]);
}

/** Swaps the new copy in under `target` (atomically, as in place), then drops the old one. */
async function replaceDatabase(session: AdminSession, deps: JobDeps, target: string, incoming: string): Promise<void> {
  const names = { live: target, incoming, keepAs: nameWithSuffix(target, `_replaced_${Date.now().toString(36)}`) };
  try {
    await closeForSwap(session, deps.state, names, 'replace');
    await swapDatabases(session.client, names);
    await forgetSwapClosed(session, deps.state, target);
  } catch (err) {
    await reopenLive(session, deps.state, target).catch(() => undefined);
    throw err;
  }
  await dropDatabase(session.client, names.keepAs);
}

/** Keeps the details (e.g. "the live database was not changed") when turning a cancel into one message. */
export function asRestoreError(err: unknown, signal?: AbortSignal): ClassifiedError {
  return classifiedError('Restore', err, { cancelled: signal?.aborted === true });
}

/** Audit rows for every step of a restore, each with who asked. */
export function auditor(deps: JobDeps, trigger: Trigger, backupId: string, target: string) {
  return async (step: string, status: 'started' | 'succeeded' | 'failed' | 'cancelled' | 'could-not-check' | 'refused', details: Record<string, unknown> = {}, durationSeconds?: number) => {
    await recordAudit(deps.state, {
      operationType: 'restore',
      backupType: 'database',
      status,
      backupId,
      durationSeconds,
      errorMessage: typeof details.error === 'string' ? details.error : undefined,
      performedBy: trigger.by,
      details: { step, target, via: trigger.via, ...details },
    });
  };
}
