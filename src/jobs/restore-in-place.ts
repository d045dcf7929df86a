import { readManifest } from '../catalog/catalog.ts';
import { parseBackupId } from '../catalog/backup-id.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { cleanupLeftovers, inPlaceMarker } from './cleanup-leftovers.ts';
import { applyInPlaceSteps, type InPlaceRun } from './in-place-steps.ts';
import type { JobDeps } from './job-context.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import { databaseExists, nameWithSuffix, openAdminSession } from './pg/database-admin.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { asRestoreError, auditor, type RestoreResult } from './restore-database.ts';
import { assertDatabaseBackup } from './verify-backup.ts';
import type { InPlacePlan, InPlaceSpec, InPlaceStep } from './in-place-types.ts';

export type { InPlacePlan, InPlaceSpec, InPlaceStep, InPlaceStepKind } from './in-place-types.ts';

export interface InPlaceInput {
  backupId: string;
  live: string;
  at: Date;
  jobs: number;
  stopCommand?: string;
  startCommand?: string;
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
  const steps: InPlaceStep[] = [
    { kind: 'safety-backup', description: `take a safety backup of ${live} (label pre-restore)` },
    { kind: 'restore-copy', description: `restore ${input.backupId} into a temporary database (pg_restore --jobs=${input.jobs}) and verify it against the manifest` },
    { kind: 'copy-attributes', description: `give the copy ${live}'s owner, database grants and settings` },
  ];
  if (input.stopCommand) steps.push({ kind: 'stop-app', description: `stop the application: ${input.stopCommand}`, command: input.stopCommand });
  steps.push(
    { kind: 'close-connections', description: `close ${live} to new connections and terminate its sessions` },
    { kind: 'swap', description: `in one transaction: rename ${live} to ${keepAs} and the verified copy to ${live}` },
  );
  if (input.startCommand) steps.push({ kind: 'start-app', description: `start the application: ${input.startCommand}`, command: input.startCommand });
  steps.push({ kind: 'confirm', description: `confirm ${live} accepts connections and holds the backup's tables` });
  return { backupId: input.backupId, live, keepAs, steps };
}

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
  const manifest = await readManifest(deps.store, parseBackupId(spec.backup));
  assertDatabaseBackup(manifest);
  const live = describeDatabaseUrl(spec.databaseUrl).database;
  const plan = planInPlaceRestore({ backupId: manifest.id, live, at: new Date(started), jobs: spec.jobs, stopCommand: spec.hooks.stop, startCommand: spec.hooks.start });
  const audit = auditor(deps, spec.trigger, manifest.id, live);
  const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb);
  try {
    if (!(await databaseExists(session.client, live))) throw new BantayError(ErrorCode.NotFound, `The live database ${live} does not exist; restore with --target-db ${live} instead`);
    const lock = await session.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LIVE_LOCK_CLASS, live]);
    if (!lock.rows[0]!.ok) throw new BantayError(ErrorCode.Database, `Another in-place restore of ${live} is running`);
    await audit('restore in place', 'started', { keepAs: plan.keepAs, steps: plan.steps.map((s) => s.kind) });
    await cleanupLeftovers(session, { tmpDir: spec.tmpDir });
    const run: InPlaceRun = { manifest, plan, session, spec, deps, reporter, audit, marker: inPlaceMarker(live) };
    const outcome = await applyInPlaceSteps(run);
    const durationSeconds = (Date.now() - started) / 1000;
    const result: RestoreResult = { backupId: manifest.id, target: live, mode: 'in-place', durationSeconds, ...outcome };
    await audit('restore in place', 'succeeded', { keptAs: plan.keepAs, rtoSeconds: result.rtoSeconds, downtimeSeconds: result.downtimeSeconds, safetyBackupId: result.safetyBackupId }, durationSeconds);
    return result;
  } catch (err) {
    const error = asRestoreError(err);
    await audit('restore in place', error.code === ErrorCode.InvalidInput ? 'refused' : 'failed', { error: error.message }, (Date.now() - started) / 1000).catch(() => undefined);
    throw error;
  } finally {
    await session.close();
  }
}
