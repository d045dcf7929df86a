import { Command } from 'commander';
import { parseBackupId } from '../../catalog/backup-id.ts';
import { listBackups } from '../../catalog/catalog.ts';
import { runAppHookStep } from '../../jobs/incident/hook-step.ts';
import { incidentEvents, requireOpen, requireStep } from '../../jobs/incident/incidents.ts';
import type { Incident } from '../../jobs/incident/model.ts';
import { recordStepFinished, recordStepStarted, type StepResult } from '../../jobs/incident/step-record.ts';
import { defaultTargetDb, describePlan, planStep, type StepPlan } from '../../jobs/incident/step-plan.ts';
import { describeTime, parseTargetTime } from '../../jobs/pitr/target-time.ts';
import { BantayError, ErrorCode, isAbortError } from '../../errors.ts';
import { describeDatabaseUrl } from '../../jobs/pg/connection.ts';
import { selectAuditBetween } from '../../state/incidents.ts';
import type { Queryable } from '../../state/state-types.ts';
import { registerCommands } from '../command-table.ts';
import type { CliContext } from '../context.ts';

export interface StepRunOptions {
  targetDb?: string;
  inPlace?: boolean;
  yes?: boolean;
  backup?: string;
  time?: string;
  dryRun?: boolean;
}

/**
 * `bantay incident run N`: plans the step from the incident (latest clean backup, the second
 * before detection), then carries it out with the console's own command for it, in this
 * process and context, so the step is exactly what `bantay restore …` would do (its
 * confirmation, safety backup and audit rows included). Started and finished are recorded
 * around it; a success marks the step done.
 */
export async function runIncidentStep(ctx: CliContext, incident: Incident, stepNumber: number, opts: StepRunOptions): Promise<void> {
  requireOpen(incident);
  const step = requireStep(incident, stepNumber);
  const state = await ctx.state();
  const tz = ctx.config.slack.timeZone;
  const readsCatalog = step.action !== undefined && ['restore-latest', 'restore-secondary', 'verify-restored', 'restore-files'].includes(step.action);
  const store = step.action === 'restore-secondary' ? ctx.readStore('secondary') : ctx.store;
  const backups = readsCatalog ? await listBackups(store, { keyRing: ctx.config.keyRing, state }) : [];
  const plan = planStep(incident, step, backups, await incidentEvents(state, incident.id), {
    backupId: opts.backup === undefined ? undefined : parseBackupId(opts.backup),
    time: opts.time === undefined ? undefined : parseTargetTime(opts.time, tz),
    to: opts.inPlace ? 'in-place' : undefined,
  });
  const targetDb = opts.targetDb ?? defaultTargetDb(new Date());
  const liveDatabase = ctx.config.databaseUrl === undefined ? undefined : describeDatabaseUrl(ctx.config.databaseUrl).database;
  const argv = plan.kind === 'hook' ? undefined : stepArgv(plan, { targetDb, yes: opts.yes === true, liveDatabase });
  const description = describePlan(plan, (d) => describeTime(d, tz));
  if (opts.dryRun) {
    ctx.io.stdout.write(`Step ${step.number}: ${description}\n${argv ? `Runs: bantay ${argv.join(' ')}` : `Runs: ${plan.kind === 'hook' && plan.hook === 'stop' ? 'BANTAY_APP_STOP_CMD' : 'BANTAY_APP_START_CMD'}`}\n(dry run: nothing was done)\n`);
    return;
  }
  const actor = ctx.trigger().by;
  ctx.io.stderr.write(`Step ${step.number}: ${description}\n`);
  const run = await recordStepStarted(state, incident, step, plan, actor, description);
  const startedAt = new Date();
  try {
    if (plan.kind === 'hook') {
      const command = plan.hook === 'stop' ? ctx.config.recovery.appStopCmd : ctx.config.recovery.appStartCmd;
      await runAppHookStep({ state }, { hook: plan.hook, command, timeoutSeconds: ctx.config.recovery.hookTimeoutSeconds, trigger: ctx.trigger(), signal: ctx.io.signal });
    } else {
      await runSubcommand(ctx, argv!);
    }
  } catch (err) {
    await recordStepFinished(state, incident, step, plan, actor, run, { ok: false, error: err, cancelled: isAbortError(err) || ctx.io.signal.aborted });
    throw err;
  }
  const target = 'to' in plan && plan.to === 'new' ? { target: targetDb } : {};
  const details: StepResult =
    plan.kind === 'restore' ? { recoveredPoint: plan.backupCreatedAt, ...target } : plan.kind === 'restore-pitr' ? { ...target, ...(await pitrCopyOf(state, actor, startedAt)) } : {};
  await recordStepFinished(state, incident, step, plan, actor, run, { ok: true, details });
  ctx.io.stdout.write(`Step ${step.number} done.\n`);
}

/** The console command that does a planned step (pure). */
export function stepArgv(plan: Exclude<StepPlan, { kind: 'hook' }>, opts: { targetDb: string; yes: boolean; liveDatabase?: string }): string[] {
  const target = (to: 'new' | 'in-place') => (to === 'in-place' ? ['--in-place', ...(opts.yes ? ['--yes'] : [])] : ['--target-db', opts.targetDb]);
  switch (plan.kind) {
    case 'emergency-backup':
      return ['backup', 'emergency'];
    case 'restore':
      return ['restore', plan.backupId, ...target(plan.to), ...(plan.from === 'secondary' ? ['--from', 'secondary'] : [])];
    case 'restore-pitr':
      return ['restore', '--time', plan.time.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+00:00'), ...target(plan.to)];
    case 'verify': {
      const from = plan.from === 'secondary' ? ['--from', 'secondary'] : [];
      if (plan.restored === undefined) return ['verify', plan.backupId, ...from];
      const database = plan.restored.to === 'new' ? plan.restored.database : opts.liveDatabase;
      if (database === undefined) throw new BantayError(ErrorCode.ConfigInvalid, 'Set BANTAY_DATABASE_URL: the live database is the one to check');
      return ['verify', plan.backupId, '--database', database, ...from];
    }
    case 'restore-files':
      return ['restore', plan.backupId, '--in-place', ...(opts.yes ? ['--yes'] : [])];
  }
}

/**
 * The kept copy of the point-in-time recovery this step just ran (the console command prints it
 * but returns nothing): its own audit row, by this actor since the step started.
 */
async function pitrCopyOf(state: Queryable, actor: string, since: Date): Promise<StepResult> {
  const rows = await selectAuditBetween(state, since, new Date());
  const row = rows.reverse().find((r) => r.operationType === 'restore' && r.backupType === 'pitr' && r.status === 'succeeded' && r.performedBy === actor);
  const details = (row?.details ?? {}) as { copyBackupId?: unknown; lastTransactionAt?: unknown };
  return {
    ...(typeof details.copyBackupId === 'string' ? { copyBackupId: details.copyBackupId } : {}),
    ...(typeof details.lastTransactionAt === 'string' ? { recoveredPoint: details.lastTransactionAt } : {}),
  };
}

async function runSubcommand(ctx: CliContext, argv: string[]): Promise<void> {
  const program = new Command('bantay').exitOverride().configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
  await registerCommands(program, (fn) => fn(ctx), ctx.io, argv);
  await program.parseAsync(argv, { from: 'user' });
}
