import pg from 'pg';
import type { Manifest } from '../catalog/manifest.ts';
import type { Check } from '../catalog/verification.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { followUpStepError } from '../failure.ts';
import { runDatabaseBackup } from './backup-database.ts';
import type { JobDeps } from './job-context.ts';
import { withDatabase } from './pg/connection.ts';
import type { AdminSession } from './pg/database-admin.ts';
import { copyDatabaseAttributes } from './pg/database-attributes.ts';
import { closeForSwap, forgetSwapClosed, reopenLive, swapDatabases } from './pg/swap-database.ts';
import { qualifiedName } from '../catalog/table-name.ts';
import { USER_TABLES } from './pg/user-tables.ts';
import type { ProgressReporter } from './progress.ts';
import type { RestoredCopy } from './restore-copy.ts';
import { restoreCheckedCopy, restoreFacts, type auditor, type RestoreResult } from './restore-database.ts';
import type { InPlacePlan, InPlaceSpec, InPlaceStep } from './restore-in-place.ts';
import { runHook } from './run-hook.ts';

/** Everything applyInPlaceSteps needs; built by restoreInPlace. */
export interface InPlaceRun {
  manifest: Manifest;
  plan: InPlacePlan;
  session: AdminSession;
  spec: InPlaceSpec;
  deps: JobDeps;
  reporter: ProgressReporter;
  audit: ReturnType<typeof auditor>;
}

/** What has happened so far: decides what undoing a failure means. */
interface Progress {
  copy?: RestoredCopy;
  checks: Check[];
  safetyBackupId?: string;
  appStopped: boolean;
  closed: boolean;
  swapped: boolean;
  restoreStart?: number;
  downtimeStart?: number;
  serviceBack?: number;
}

type Outcome = Omit<RestoreResult, 'backupId' | 'target' | 'mode' | 'durationSeconds'>;

/**
 * Carries out the plan step by step, auditing each. A failure before the swap undoes what was
 * done (reopen the live database, start the application, drop the copy) and says the live
 * database is unchanged. After the swap nothing is undone automatically: the restore is in
 * place and the error says what is left to do.
 */
export async function applyInPlaceSteps(run: InPlaceRun): Promise<Outcome> {
  const state: Progress = { checks: [], appStopped: false, closed: false, swapped: false };
  for (const step of run.plan.steps) {
    const started = Date.now();
    try {
      // Once the swap has committed, an interrupt must not stop the application from coming back.
      if (!state.swapped) run.spec.signal?.throwIfAborted();
      run.reporter.phase?.(step.kind, step.description);
      await run.audit(step.kind, 'started', { description: step.description });
      await applyStep(step, run, state);
      await run.audit(step.kind, 'succeeded', {}, (Date.now() - started) / 1000);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await run.audit(step.kind, 'failed', { error: message }, (Date.now() - started) / 1000).catch(() => undefined);
      throw state.swapped ? afterSwapError(run, step, err) : await undo(run, state, err);
    }
  }
  const now = Date.now();
  return {
    checks: state.checks,
    rtoSeconds: (now - (state.restoreStart ?? now)) / 1000,
    restoreSeconds: state.copy?.seconds ?? 0,
    usedTempFile: state.copy?.usedTempFile ?? false,
    keptAs: run.plan.keepAs,
    safetyBackupId: state.safetyBackupId,
    downtimeSeconds: ((state.serviceBack ?? now) - (state.downtimeStart ?? now)) / 1000,
    ...(state.copy ? restoreFacts(state.copy, state.copy.roleNotes) : { createdRoles: [], notes: [], restoreErrors: [], noOwner: false }),
  };
}

async function applyStep(step: InPlaceStep, run: InPlaceRun, state: Progress): Promise<void> {
  const { spec, deps, session, plan } = run;
  const hookOptions = { timeoutSeconds: spec.hooks.timeoutSeconds };
  switch (step.kind) {
    case 'safety-backup': {
      const manifest = await runDatabaseBackup({ databaseUrl: spec.databaseUrl, label: 'pre-restore', trigger: spec.trigger, signal: spec.signal }, deps, run.reporter);
      state.safetyBackupId = manifest.id;
      return;
    }
    case 'restore-copy':
      state.restoreStart = Date.now();
      state.copy = await restoreCheckedCopy(run.manifest, session, deps, { ...spec, like: plan.live }, run.reporter);
      state.checks = state.copy.checks;
      return;
    case 'copy-attributes':
      return copyDatabaseAttributes(session.client, plan.live, copyOf(state).scratch.name);
    case 'stop-app':
      // Counted as stopped before it runs: a hook that fails half-way may have stopped it anyway.
      state.appStopped = true;
      state.downtimeStart ??= Date.now();
      await runHook('stop', step.command!, { ...hookOptions, signal: spec.signal });
      return;
    case 'close-connections':
      copyOf(state).scratch.protect();
      state.closed = true;
      state.downtimeStart ??= Date.now();
      await closeForSwap(session, deps.state, { live: plan.live, incoming: copyOf(state).scratch.name, keepAs: plan.keepAs }, 'in-place');
      return;
    case 'swap':
      await swapDatabases(session.client, { live: plan.live, incoming: copyOf(state).scratch.name, keepAs: plan.keepAs });
      state.swapped = true;
      state.serviceBack = Date.now();
      await forgetSwapClosed(session, deps.state, plan.live);
      await copyOf(state).scratch.release();
      return;
    case 'start-app':
      await runHook('start', step.command!, hookOptions);
      state.appStopped = false;
      state.serviceBack = Date.now();
      return;
    case 'confirm': {
      const check = await confirmLive(session, plan.live, run.manifest);
      state.checks = [...state.checks, check];
      if (check.status === 'failed') throw new BantayError(ErrorCode.Integrity, check.detail);
      return;
    }
  }
}

function copyOf(state: Progress): RestoredCopy {
  if (!state.copy) throw new BantayError(ErrorCode.Internal, 'In-place restore step ran before the copy was restored');
  return state.copy;
}

/** Puts everything back as it was before the first step; returns the error to throw. */
async function undo(run: InPlaceRun, state: Progress, cause: unknown): Promise<BantayError> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (state.closed) await attempt(`reopen ${run.plan.live}`, () => reopenLive(run.session, run.deps.state, run.plan.live));
  const start = run.spec.hooks.start;
  if (state.appStopped && start) await attempt('start the application', () => runHook('start', start, { timeoutSeconds: run.spec.hooks.timeoutSeconds }));
  if (state.copy) await attempt('drop the temporary database', () => state.copy!.scratch.drop());
  const base = cause instanceof BantayError ? cause : new BantayError(ErrorCode.Internal, cause instanceof Error ? cause.message : String(cause), { cause });
  const note = problems.length === 0 ? `The live database ${run.plan.live} was not changed.` : `The live database ${run.plan.live} was not changed, but undoing the preparation failed:`;
  return new BantayError(base.code, base.message, { cause, details: [...base.details, note, ...problems] });
}

function afterSwapError(run: InPlaceRun, step: InPlaceStep, cause: unknown): BantayError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return followUpStepError(`Backup ${run.manifest.id} is restored in place as ${run.plan.live} (the previous database is kept as ${run.plan.keepAs}), but ${step.kind} failed: ${reason}`, {
    cause,
    details: step.kind === 'start-app' ? ['Start the application by hand.'] : [`To roll back, see "Rolling back an in-place restore" in the README ("Recovery").`],
  });
}

/** After the swap: the live name accepts connections and holds exactly the backup's tables. */
async function confirmLive(session: AdminSession, live: string, manifest: Manifest): Promise<Check> {
  const client = new pg.Client({ connectionString: withDatabase(session.url, live), application_name: 'bantay-confirm' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ schema: string; name: string }>(USER_TABLES);
    // Manifests with `contents` key tables by qualifiedName; older ones as plain schema.table.
    const actual = rows.map((r) => (manifest.contents !== undefined ? qualifiedName(r.schema, r.name) : `${r.schema}.${r.name}`)).sort();
    const expected = Object.keys(manifest.tables ?? {}).sort();
    const same = actual.length === expected.length && actual.every((t, i) => t === expected[i]);
    return {
      name: 'live database',
      status: same ? 'passed' : 'failed',
      detail: same ? `${live} accepts connections and holds the backup's ${actual.length} tables` : `${live} holds ${actual.length} tables, the backup ${expected.length}`,
      expected: expected.length,
      actual: actual.length,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
