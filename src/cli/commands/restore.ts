import type { Command } from 'commander';
import { isBackupId, kindOfId, parseBackupId } from '../../catalog/backup-id.ts';
import { readManifest } from '../../catalog/catalog.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { runCleanup, type CleanupReport } from '../../jobs/cleanup-leftovers.ts';
import { checkBackupOrigin, liveIdentity } from '../../jobs/backup-origin.ts';
import { describeDatabaseUrl } from '../../jobs/pg/connection.ts';
import { openAdminSession } from '../../jobs/pg/database-admin.ts';
import { restoreToNewDatabase, type RestoreResult } from '../../jobs/restore-database.ts';
import { planInPlaceRestore, restoreInPlace, type InPlacePlan } from '../../jobs/restore-in-place.ts';
import type { CliContext } from '../context.ts';
import { formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';
import { FROM_OPTION_HELP, parseFromOption, readConfirmation, recoveryBase, renderChecks, TEMP_FILE_NOTE } from '../recovery.ts';
import { runFilesRestoreCommand } from './restore-files.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

interface RestoreOptions {
  to?: string;
  date?: string;
  from?: string;
  targetDb?: string;
  replace?: boolean;
  inPlace?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  cleanup?: boolean;
  jobs?: string;
  json?: boolean;
  owner?: boolean;
  acceptRestoreErrors?: boolean;
  fromOtherDatabase?: boolean;
}

export function registerRestoreCommand(program: Command, run: Run): void {
  program
    .command('restore')
    .description('restore a backup: a database into a new database (--target-db) or over the live one (--in-place); files into a new directory (--to) or over the live one (--in-place)')
    .argument('[id]', 'backup id (see bantay list)')
    .option('--target-db <name>', 'database backups: restore into a new database with this name')
    .option('--to <dir>', 'application/uploads backups: restore into this new directory (default ./bantay-restore-<id>)')
    .option('--date <YYYY-MM-DD>', 'uploads: the last uploads backup of that day (BANTAY_TZ), instead of an id')
    .option('--from <where>', FROM_OPTION_HELP)
    .option('--replace', 'with --target-db: replace an existing database of that name')
    .option('--in-place', 'restore over the live database in DATABASE_URL; the current one is kept, renamed')
    .option('--yes', 'with --in-place: do not ask for the database name as confirmation')
    .option('--dry-run', 'with --in-place: print the steps and change nothing')
    .option('--cleanup', 'clean up after interrupted runs: stale scratch databases, temp files, a live database left closed')
    .option('--jobs <n>', 'pg_restore parallel jobs (default BANTAY_RESTORE_JOBS)')
    .option('--no-owner', 'database backups: create no roles; objects belong to Bantay\'s role, no grants (pg_restore --no-owner --no-privileges)')
    .option('--accept-restore-errors', 'database backups: put the copy in place even though pg_restore reported errors (listed in the result); data checks must still pass')
    .option('--from-other-database', 'with --in-place: allow a backup taken from another database or server than the live one')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((id: string | undefined, opts: RestoreOptions) =>
      run(async (ctx) => {
        ctx.useReadLocation(parseFromOption(opts.from));
        if (isFilesRestore(id, opts)) {
          const { to, inPlace, date, yes, json } = opts;
          return runFilesRestoreCommand(ctx, id, { to, inPlace, date, yes, json });
        }
        const mode = chooseMode(id, opts);
        if (mode === 'cleanup') return cleanup(ctx, opts);
        if (mode === 'in-place' && opts.dryRun) return dryRun(ctx, id!, opts);
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        let result: RestoreResult;
        try {
          result = mode === 'in-place' ? await inPlace(ctx, id!, opts, reporter) : await toNew(ctx, id!, opts, reporter);
        } finally {
          reporter.done();
        }
        ctx.io.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${renderRestore(result, ctx)}\n`);
      }),
    );
}

/** Files backups (by id kind, --to or --date) go to the files restore; the rest is database. */
function isFilesRestore(id: string | undefined, opts: RestoreOptions): boolean {
  if (opts.to !== undefined || opts.date !== undefined) return true;
  return id !== undefined && isBackupId(id) && kindOfId(id) !== 'database';
}

function chooseMode(id: string | undefined, opts: RestoreOptions): 'cleanup' | 'in-place' | 'new' {
  const modes = [opts.cleanup, opts.inPlace, opts.targetDb !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new BantayError(ErrorCode.Usage, 'Choose exactly one of --target-db NAME, --in-place or --cleanup');
  if (opts.cleanup) {
    if (id !== undefined) throw new BantayError(ErrorCode.Usage, '--cleanup takes no backup id');
    return 'cleanup';
  }
  if (id === undefined) throw new BantayError(ErrorCode.Usage, 'Name the backup to restore (see bantay list)');
  if (opts.replace && !opts.targetDb) throw new BantayError(ErrorCode.Usage, '--replace only goes with --target-db');
  if ((opts.yes || opts.dryRun) && !opts.inPlace) throw new BantayError(ErrorCode.Usage, '--yes and --dry-run only go with --in-place');
  if (opts.fromOtherDatabase && !opts.inPlace) throw new BantayError(ErrorCode.Usage, '--from-other-database only goes with --in-place');
  return opts.inPlace ? 'in-place' : 'new';
}

async function toNew(ctx: CliContext, id: string, opts: RestoreOptions, reporter: ReturnType<typeof createCliReporter>): Promise<RestoreResult> {
  const spec = { backup: id, target: opts.targetDb!, replace: opts.replace === true, ...recoveryBase(ctx, opts), ...restoreOptions(opts) };
  return restoreToNewDatabase(spec, await ctx.deps(), reporter);
}

async function inPlace(ctx: CliContext, id: string, opts: RestoreOptions, reporter: ReturnType<typeof createCliReporter>): Promise<RestoreResult> {
  const { base, plan, createdAt } = await planFor(ctx, id, opts);
  assertOriginAllowed(plan, opts);
  if (!opts.yes) await confirm(ctx, plan, createdAt);
  const { recovery } = ctx.config;
  const hooks = { stop: recovery.appStopCmd, start: recovery.appStartCmd, timeoutSeconds: recovery.hookTimeoutSeconds };
  return restoreInPlace({ backup: plan.backupId, hooks, ...base, ...restoreOptions(opts), fromOtherDatabase: opts.fromOtherDatabase === true }, await ctx.deps(), reporter);
}

function restoreOptions(opts: RestoreOptions) {
  return { noOwner: opts.owner === false, acceptRestoreErrors: opts.acceptRestoreErrors === true };
}

/** Refused before the prompt: the job would refuse it too, after someone typed the name. */
function assertOriginAllowed(plan: InPlacePlan, opts: RestoreOptions): void {
  if (plan.origin === undefined || plan.origin.sameDatabase || opts.fromOtherDatabase) return;
  throw new BantayError(ErrorCode.InvalidInput, `${plan.origin.reason}; nothing was changed. To restore it over ${plan.live} anyway, pass --from-other-database`, {
    details: [`Backup: ${plan.origin.backup}`, `Live database: ${plan.origin.live}`],
  });
}

async function dryRun(ctx: CliContext, id: string, opts: RestoreOptions): Promise<void> {
  const { plan, createdAt } = await planFor(ctx, id, opts);
  ctx.io.stdout.write(opts.json ? `${JSON.stringify(plan)}\n` : `${renderPlan(plan, createdAt)}\n(dry run: nothing was changed)\n`);
}

async function planFor(ctx: CliContext, id: string, opts: RestoreOptions) {
  const base = recoveryBase(ctx, opts);
  const { recovery } = ctx.config;
  const live = describeDatabaseUrl(base.databaseUrl).database;
  if (id.trim() === 'latest') throw new BantayError(ErrorCode.InvalidInput, 'An in-place restore needs an explicit backup id, not "latest" (see bantay list)');
  const manifest = await readManifest(ctx.store, await ctx.deps(), parseBackupId(id));
  // The live server's identity is needed to say where the backup came from before anything is asked.
  const session = await openAdminSession(base.databaseUrl, base.maintenanceDb);
  await session.close();
  const origin = checkBackupOrigin(manifest, liveIdentity(base.databaseUrl, session));
  const plan = planInPlaceRestore({ backupId: manifest.id, live, at: new Date(), jobs: base.jobs, stopCommand: recovery.appStopCmd, startCommand: recovery.appStartCmd, origin });
  return { base, plan, createdAt: manifest.createdAt };
}

/** Typed confirmation: the person must type the live database's name. */
async function confirm(ctx: CliContext, plan: InPlacePlan, createdAt: string): Promise<void> {
  ctx.io.stderr.write(`${renderPlan(plan, createdAt)}\n`);
  const other = plan.origin !== undefined && !plan.origin.sameDatabase;
  const prompt = other
    ? `This backup is of ANOTHER database (${plan.origin!.backup}). Type the name of the live database (${plan.live}) to replace it with that: `
    : `Type the name of the live database (${plan.live}) to restore over it: `;
  const answer = await readConfirmation(prompt, ctx.io.stderr);
  if (answer === undefined) {
    throw new BantayError(ErrorCode.Usage, 'An in-place restore needs typed confirmation: run it in a terminal, or pass --yes');
  }
  if (answer !== plan.live) throw new BantayError(ErrorCode.Usage, `"${answer.slice(0, 64)}" is not ${plan.live}; nothing was changed`);
}

function renderPlan(plan: InPlacePlan, createdAt: string): string {
  const steps = plan.steps.map((s, i) => `  ${i + 1}. ${s.description}`);
  const origin = plan.origin
    ? [`  Backup of:     ${plan.origin.backup}`, `  Live database: ${plan.origin.live}`, ...(plan.origin.sameDatabase ? [] : [`  WARNING: ${plan.origin.reason}`])]
    : [];
  return [`In-place restore of ${plan.live} from ${plan.backupId} (taken ${createdAt}):`, ...origin, ...steps].join('\n');
}

function renderRestore(r: RestoreResult, ctx: CliContext): string {
  const rows = r.checks.filter((c) => c.name.startsWith('rows ')).reduce((sum, c) => sum + (typeof c.actual === 'number' ? c.actual : 0), 0);
  const lines = [
    `Restored ${r.backupId} into ${r.target} (${r.mode}): verified, ${rows} rows. Measured RTO ${formatDuration(r.rtoSeconds)}` +
      (r.downtimeSeconds !== undefined ? `, downtime ${formatDuration(r.downtimeSeconds)}` : ''),
    renderChecks(r.checks),
  ];
  if (r.usedTempFile) lines.push(TEMP_FILE_NOTE);
  if (r.noOwner) lines.push('Restored with --no-owner: objects belong to Bantay\'s role and no grants were restored.');
  if (r.createdRoles.length > 0) lines.push(`Created ${r.createdRoles.length} missing role(s): ${r.createdRoles.join(', ')}`);
  for (const note of r.notes) lines.push(`Note: ${note}`);
  if (r.restoreErrors.length > 0) lines.push(`pg_restore errors accepted (--accept-restore-errors):`, ...r.restoreErrors.map((e) => `  ${e}`));
  if (r.safetyBackupId) lines.push(`Safety backup taken before: ${r.safetyBackupId} (label pre-restore)`);
  if (r.keptAs) {
    lines.push(
      `The previous database is kept as ${r.keptAs}. Once the application works, drop it with this SQL,`,
      `connected to the ${ctx.config.recovery.maintenanceDb} database:  DROP DATABASE "${r.keptAs}";`,
      `To roll back instead, see "Rolling back an in-place restore" in the README ("Recovery").`,
    );
  }
  return lines.join('\n');
}

async function cleanup(ctx: CliContext, opts: RestoreOptions): Promise<void> {
  const base = recoveryBase(ctx, opts);
  const { recovery } = ctx.config;
  const report = await runCleanup({ ...base, startCommand: recovery.appStartCmd, hookTimeoutSeconds: recovery.hookTimeoutSeconds }, await ctx.deps());
  ctx.io.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${renderCleanup(report)}\n`);
}

function renderCleanup(r: CleanupReport & { startedApplication: boolean }): string {
  const lines = [
    r.droppedDatabases.length ? `Dropped ${r.droppedDatabases.length} leftover database(s): ${r.droppedDatabases.join(', ')}` : 'No leftover databases.',
    ...(r.removedTempFiles.length ? [`Removed ${r.removedTempFiles.length} leftover temp file(s).`] : []),
    ...r.reopenedDatabases.map((d) => `Reopened ${d} to connections (an in-place restore was interrupted before its swap; ${d} holds its previous data).`),
    ...r.warnings.map((w) => `Warning: ${w}`),
  ];
  for (const live of r.interruptedInPlace) {
    lines.push(r.startedApplication ? `Ran BANTAY_APP_START_CMD after the interrupted restore of ${live}.` : `If the application was stopped for the interrupted restore of ${live}, start it again.`);
  }
  return lines.join('\n');
}
