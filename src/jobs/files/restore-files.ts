import { randomBytes } from 'node:crypto';
import { lstat, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, wrapError } from '../../errors.ts';
import { classifiedError, followUpStepError } from '../../failure.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { consumeInPlaceAuthorization, type AuthorizationRecord, type InPlaceAuthorization } from '../authorization/in-place-authorization.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { runApplicationBackup, runUploadsBackup } from './backup-files.ts';
import { restoreTreeInto, type TreeRestoreResult } from './restore-tree.ts';
import { compactUtcStamp } from '../../catalog/json-record.ts';

/** Restore into a new directory, which must not exist yet (its parent must). */
export interface DirectoryTarget {
  type: 'directory';
  dir: string;
}

/**
 * Replace the live directory: restore beside it, take a pre-restore backup of it (an ordinary
 * catalogued backup labelled "pre-restore"), then swap with two renames. The old tree stays as
 * `<live>.pre-restore-<stamp>` for an instant rollback.
 */
export interface InPlaceTarget {
  type: 'in-place';
  liveDir: string;
  /** For the pre-restore backup: BANTAY_APP_EXCLUDE (application) and BANTAY_UPLOADS_CHAIN_DAYS (uploads). */
  exclude: readonly string[];
  chainDays: number;
  /** Runs after the restored tree is ready, before the pre-restore backup and the swap (e.g. stop the app). */
  beforeSwap?: () => Promise<void>;
  /** Runs after the swap, or after a failure once beforeSwap has run (e.g. start the app). */
  afterSwap?: () => Promise<void>;
  /** The second person's approval, or the CLI's typed confirmation; refused without one. */
  authorization: InPlaceAuthorization | undefined;
}

export interface FilesRestoreSpec {
  /** An application or uploads backup; for uploads, the point of its chain to restore. */
  manifest: Manifest;
  target: DirectoryTarget | InPlaceTarget;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface FilesRestoreResult {
  backupId: string;
  kind: 'application' | 'uploads';
  /** Where the restored tree is now (the live directory for in-place restores). */
  restoredTo: string;
  files: number;
  bytes: number;
  archivesRead: string[];
  durationSeconds: number;
  /** In-place only: the backup of the live tree taken just before the swap. */
  preRestoreBackupId?: string;
  /** In-place only: where the replaced tree was moved (delete it once satisfied). */
  previousDir?: string;
}

/** Restores a files backup (see DirectoryTarget / InPlaceTarget); audited and recorded as a job run. */
export async function restoreFilesBackup(spec: FilesRestoreSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<FilesRestoreResult> {
  const m = spec.manifest;
  if (m.kind === 'database' || m.files === undefined) throw new BantayError(ErrorCode.InvalidInput, `${m.id} is a ${m.kind} backup, not a files backup`);
  const kind = m.kind;
  const started = deps.now?.() ?? new Date();
  const runId = `restore-${m.id}-${randomBytes(2).toString('hex')}`;
  const grant = spec.target.type === 'in-place' ? await authorizeFilesInPlace(spec, spec.target, deps, started) : {};
  await startJobRun(deps.state, { id: runId, job: `restore ${kind}`, performedBy: spec.trigger.by, backupId: m.id });
  try {
    const partial = spec.target.type === 'directory' ? await restoreTreeInto(m, spec.target.dir, deps, reporter, spec.signal) : await restoreInPlace(spec, spec.target, deps, reporter);
    const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000;
    const result: FilesRestoreResult = { backupId: m.id, kind, restoredTo: partial.dir, files: partial.files, bytes: partial.bytes, archivesRead: partial.archivesRead, durationSeconds, ...pick(partial) };
    await finishJobRun(deps.state, runId, { status: 'succeeded', backupId: m.id });
    await recordAudit(deps.state, {
      operationType: 'restore',
      backupType: kind,
      status: 'succeeded',
      filePath: result.restoredTo,
      fileSize: result.bytes,
      durationSeconds,
      performedBy: spec.trigger.by,
      backupId: m.id,
      details: { ...grant, target: spec.target.type, files: result.files, archives: result.archivesRead, preRestoreBackupId: result.preRestoreBackupId ?? null, previousDir: result.previousDir ?? null },
    });
    return result;
  } catch (err) {
    const error = classifiedError('Restore', err, { cancelled: spec.signal?.aborted === true });
    const c = error.classification;
    const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000;
    await finishJobRun(deps.state, runId, { status: c.outcome, backupId: m.id, errorMessage: error.message, cause: c.cause }).catch(() => undefined);
    await recordAudit(deps.state, { operationType: 'restore', backupType: kind, status: c.outcome, durationSeconds, errorMessage: error.message, performedBy: spec.trigger.by, backupId: m.id, details: { ...grant, target: spec.target.type, classification: { outcome: c.outcome, cause: c.cause } } }).catch(() => undefined);
    throw error;
  }
}

/** The two-person rule of in-place restores (see in-place-authorization.ts); refusals are audited. */
async function authorizeFilesInPlace(spec: FilesRestoreSpec, target: InPlaceTarget, deps: JobDeps, now: Date): Promise<AuthorizationRecord> {
  try {
    return await consumeInPlaceAuthorization(deps.state, target.authorization, { backupId: spec.manifest.id, kind: spec.manifest.kind }, now);
  } catch (err) {
    await recordAudit(deps.state, { operationType: 'restore', backupType: spec.manifest.kind, status: 'refused', errorMessage: (err as Error).message, performedBy: spec.trigger.by, backupId: spec.manifest.id, details: { target: 'in-place' } }).catch(() => undefined);
    throw err;
  }
}

type InPlaceOutcome = TreeRestoreResult & { preRestoreBackupId?: string; previousDir?: string };

function pick(partial: InPlaceOutcome): Pick<FilesRestoreResult, 'preRestoreBackupId' | 'previousDir'> {
  return {
    ...(partial.preRestoreBackupId !== undefined ? { preRestoreBackupId: partial.preRestoreBackupId } : {}),
    ...(partial.previousDir !== undefined ? { previousDir: partial.previousDir } : {}),
  };
}

/**
 * Restore beside the live directory (same filesystem, so renames are atomic), back the live tree
 * up, then swap: live -> live.pre-restore-STAMP, restored -> live. Between the two renames (a few
 * microseconds) the live path does not exist; Node cannot call renameat2(RENAME_EXCHANGE). If the
 * second rename fails the first is undone.
 */
async function restoreInPlace(spec: FilesRestoreSpec, target: InPlaceTarget, deps: JobDeps, reporter: ProgressReporter): Promise<InPlaceOutcome> {
  // A symlinked live directory (/srv/fbms/uploads -> /data/uploads) is replaced where it really
  // is: the link keeps pointing at the same path, and the renames stay on the target's filesystem.
  const live = await realpath(target.liveDir).catch(() => resolve(target.liveDir));
  const stamp = compactUtcStamp(new Date());
  const paths = { live, staging: join(dirname(live), `.${basename(live)}.bantay-restore-${stamp}`), previous: join(dirname(live), `${basename(live)}.pre-restore-${stamp}`) };
  const restored = await restoreTreeInto(spec.manifest, paths.staging, deps, reporter, spec.signal);
  let hooksStarted = false;
  let outcome: InPlaceOutcome | undefined;
  let failure: unknown;
  try {
    const liveExists = await lstat(live).then((s) => s.isDirectory(), () => false);
    if (target.beforeSwap) {
      reporter.phase?.('stopping', 'running the before-swap hook');
      hooksStarted = true;
      await target.beforeSwap();
    }
    const pre = liveExists ? await backUpLiveTree(spec, target, resolve(target.liveDir), deps, reporter) : undefined;
    await swap(paths, liveExists, reporter);
    outcome = { ...restored, dir: live, ...(pre ? { preRestoreBackupId: pre.id, previousDir: paths.previous } : {}) };
  } catch (err) {
    await rm(paths.staging, { recursive: true, force: true }).catch(() => undefined);
    failure = err;
  }
  if (hooksStarted && target.afterSwap) await runAfterSwap(target.afterSwap, reporter, outcome);
  if (outcome === undefined) throw failure;
  return outcome;
}

/** live -> previous, staging -> live; the first rename is undone when the second fails. */
async function swap(paths: { live: string; staging: string; previous: string }, liveExists: boolean, reporter: ProgressReporter): Promise<void> {
  reporter.phase?.('swapping', `${paths.staging} -> ${paths.live}`);
  if (liveExists) await rename(paths.live, paths.previous);
  try {
    await rename(paths.staging, paths.live);
  } catch (err) {
    if (liveExists) await rename(paths.previous, paths.live);
    throw wrapError(ErrorCode.Internal, `Could not move the restored tree into ${paths.live}`, err);
  }
}

/**
 * Runs the after-swap hook. After a failed restore a failing hook is ignored: the restore's own
 * error is the one to report. After a successful swap it fails the command, saying the tree was
 * already replaced, so nobody restores twice.
 */
async function runAfterSwap(hook: () => Promise<void>, reporter: ProgressReporter, swapped: InPlaceOutcome | undefined): Promise<void> {
  reporter.phase?.('starting', 'running the after-swap hook');
  try {
    await hook();
  } catch (err) {
    if (swapped === undefined) return;
    const reason = err instanceof Error ? err.message : String(err);
    const previous = swapped.previousDir === undefined ? '' : ` (the previous tree is at ${swapped.previousDir})`;
    throw followUpStepError(`${swapped.dir} was restored${previous}, but the after-swap hook failed: ${reason}`, { cause: err });
  }
}

async function backUpLiveTree(spec: FilesRestoreSpec, target: InPlaceTarget, live: string, deps: JobDeps, reporter: ProgressReporter): Promise<Manifest> {
  reporter.phase?.('pre-restore backup', live);
  const common = { label: 'pre-restore', trigger: spec.trigger, signal: spec.signal };
  return spec.manifest.kind === 'application'
    ? runApplicationBackup({ ...common, appDir: live, exclude: target.exclude }, deps, reporter)
    : runUploadsBackup({ ...common, uploadsDir: live, chainDays: target.chainDays }, deps, reporter);
}
