import { newSetId, writeBackupSet, type BackupSet, type SetPart, type SetRole } from '../catalog/backup-set.ts';
import { parseLabel } from '../catalog/backup-id.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import { runDatabaseBackup } from './backup-database.ts';
import { runApplicationBackup, runUploadsBackup } from './files/backup-files.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';

export interface FullSetSpec {
  databaseUrl: string;
  appDir: string;
  uploadsDir: string;
  /** BANTAY_APP_EXCLUDE and BANTAY_UPLOADS_CHAIN_DAYS. */
  exclude: readonly string[];
  chainDays: number;
  label?: string;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface PreDeploySpec {
  /** The version being deployed; becomes the label of both backups (`bantay list --label`). */
  version: string;
  databaseUrl: string;
  appDir: string;
  exclude: readonly string[];
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface EmergencySpec {
  databaseUrl: string;
  /** Defaults to "emergency". */
  label?: string;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface SetResult {
  set: BackupSet;
  manifests: Partial<Record<SetRole, Manifest>>;
}

/** Thrown when a part of a set failed; the set record (complete: false) is already written. */
export class IncompleteSetError extends BantayError {
  readonly result: SetResult;
  constructor(result: SetResult, code: ErrorCode) {
    const failed = Object.entries(result.set.parts).filter(([, p]) => p.status === 'failed');
    super(code, `Backup set ${result.set.setId} is incomplete: ${failed.map(([role]) => role).join(' and ')} failed`, {
      details: failed.map(([role, p]) => `${role}: ${(p as Extract<SetPart, { status: 'failed' }>).error}`),
    });
    this.result = result;
  }
}

type PartRunner = (setId: string, reporter: ProgressReporter) => Promise<Manifest>;

/** Database + application + uploads (a new full chain), linked by one set id. */
export async function runFullBackupSet(spec: FullSetSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<SetResult> {
  const common = { label: spec.label, trigger: spec.trigger, signal: spec.signal };
  return runBackupSet('full', spec.label, spec.trigger, deps, reporter, {
    database: (setId, r) => runDatabaseBackup({ ...common, databaseUrl: spec.databaseUrl, manifestExtras: { setId, setRole: 'database' } }, deps, r),
    application: (setId, r) => runApplicationBackup({ ...common, setId, appDir: spec.appDir, exclude: spec.exclude }, deps, r),
    uploads: (setId, r) => runUploadsBackup({ ...common, setId, uploadsDir: spec.uploadsDir, chainDays: spec.chainDays, full: true }, deps, r),
  });
}

/** Database + application before a deployment, both labelled with the version. */
export async function runPreDeployBackup(spec: PreDeploySpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<SetResult> {
  const label = parseLabel(spec.version);
  const common = { label, trigger: spec.trigger, signal: spec.signal };
  return runBackupSet('pre-deploy', label, spec.trigger, deps, reporter, {
    database: (setId, r) => runDatabaseBackup({ ...common, databaseUrl: spec.databaseUrl, manifestExtras: { setId, setRole: 'database' } }, deps, r),
    application: (setId, r) => runApplicationBackup({ ...common, setId, appDir: spec.appDir, exclude: spec.exclude }, deps, r),
  });
}

/** A database backup marked `emergency: true` in its manifest and labelled "emergency". */
export async function runEmergencyBackup(spec: EmergencySpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<Manifest> {
  const label = parseLabel(spec.label ?? 'emergency');
  return runDatabaseBackup({ databaseUrl: spec.databaseUrl, label, trigger: spec.trigger, signal: spec.signal, manifestExtras: { emergency: true } }, deps, reporter);
}

/**
 * Runs the parts concurrently (a pg_dump child and the file walk use different resources), waits
 * for all of them whatever happens, then writes the set record. Never cancels the other parts
 * when one fails: their backups are still good on their own.
 */
async function runBackupSet(
  type: BackupSet['type'],
  label: string | undefined,
  trigger: Trigger,
  deps: JobDeps,
  reporter: ProgressReporter,
  parts: Partial<Record<SetRole, PartRunner>>,
): Promise<SetResult> {
  const started = deps.now?.() ?? new Date();
  const setId = newSetId(started);
  await startJobRun(deps.state, { id: setId, job: `backup ${type}`, performedBy: trigger.by });
  const roles = Object.keys(parts) as SetRole[];
  reporter.phase?.('backup set', `${setId}: ${roles.join(' + ')}`);
  const bytes = new Map<SetRole, number>();
  const outcomes = await Promise.allSettled(roles.map((role) => parts[role]!(setId, partReporter(role, reporter, bytes))));
  const manifests: SetResult['manifests'] = {};
  const record: BackupSet['parts'] = {};
  let firstError: BantayError | undefined;
  outcomes.forEach((outcome, i) => {
    const role = roles[i]!;
    if (outcome.status === 'fulfilled') {
      manifests[role] = outcome.value;
      record[role] = { status: 'succeeded', backupId: outcome.value.id };
    } else {
      const error = wrapError(ErrorCode.Internal, `${role} backup failed`, outcome.reason);
      firstError ??= error;
      record[role] = { status: 'failed', error: error.message };
    }
  });
  const completed = deps.now?.() ?? new Date();
  const set: BackupSet = {
    formatVersion: 2,
    setId,
    type,
    ...(label !== undefined ? { label } : {}),
    createdAt: started.toISOString(),
    completedAt: completed.toISOString(),
    complete: firstError === undefined,
    trigger,
    parts: record,
  };
  await writeBackupSet(deps.store, set, deps);
  await finishSet(deps, set, started, firstError);
  if (firstError !== undefined) throw new IncompleteSetError({ set, manifests }, firstError.code);
  return { set, manifests };
}

/** Prefixes phases with the part's role and reports the sum of every part's bytes. */
function partReporter(role: SetRole, reporter: ProgressReporter, bytes: Map<SetRole, number>): ProgressReporter {
  return {
    phase: (name, detail) => reporter.phase?.(`${role}: ${name}`, detail),
    warn: (message) => reporter.warn?.(`${role}: ${message}`),
    bytes: (done) => {
      bytes.set(role, done);
      reporter.bytes?.([...bytes.values()].reduce((a, b) => a + b, 0));
    },
  };
}

async function finishSet(deps: JobDeps, set: BackupSet, started: Date, error: BantayError | undefined): Promise<void> {
  const durationSeconds = (Date.parse(set.completedAt) - started.getTime()) / 1000;
  await finishJobRun(deps.state, set.setId, error ? { status: 'failed', errorMessage: error.message } : { status: 'succeeded' });
  await recordAudit(deps.state, {
    operationType: 'backup',
    backupType: `set:${set.type}`,
    status: error ? 'failed' : 'succeeded',
    filePath: `sets/${set.setId}/set.json`,
    durationSeconds,
    ...(error ? { errorMessage: error.message } : {}),
    performedBy: set.trigger.by,
    details: { setId: set.setId, label: set.label ?? null, complete: set.complete, parts: set.parts },
  });
}
