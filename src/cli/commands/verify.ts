import type { Command } from 'commander';
import { kindOfId, parseBackupId, parseKind, type BackupKind } from '../../catalog/backup-id.ts';
import { checkDatabaseAgainstBackup } from '../../jobs/check-database.ts';
import { findUsableBackup } from '../../jobs/find-backup.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { failureReasons } from '../../jobs/restore-checks.ts';
import { verifyBackup, type VerifyResult } from '../../jobs/verify-backup.ts';
import type { CliContext } from '../context.ts';
import { formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';
import { FROM_OPTION_HELP, parseFromOption, recoveryBase, renderChecks, TEMP_FILE_NOTE } from '../recovery.ts';
import { runFilesVerifyCommand } from './restore-files.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerVerifyCommand(program: Command, run: Run): void {
  program
    .command('verify')
    .description('restore a database backup into a scratch database and check it against its manifest')
    .argument('<id>', 'backup id, or "latest" (newest database backup; see --kind)')
    .option('--kind <kind>', 'with latest: the newest backup of this kind (database, application, uploads)')
    .option('--from <where>', FROM_OPTION_HELP)
    .option('--jobs <n>', 'pg_restore parallel jobs (default BANTAY_RESTORE_JOBS)')
    .option('--database <name>', 'instead of restoring the backup, check this existing database (a restored copy, or the live one after an in-place restore) against the contents the backup recorded')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((id: string, opts: { kind?: string; from?: string; jobs?: string; database?: string; json?: boolean }) =>
      run(async (ctx) => {
        ctx.useReadLocation(parseFromOption(opts.from));
        const target = await resolveVerifyTarget(ctx, id, opts.kind);
        if (opts.database !== undefined) {
          if (target.kind !== 'database') throw new BantayError(ErrorCode.Usage, '--database checks a database against a database backup');
          await runDatabaseCheck(ctx, target.id, opts.database, opts.json === true);
          return;
        }
        if (target.kind !== 'database') {
          // Files backups: every file's hash against the index, the whole chain for uploads.
          await runFilesVerifyCommand(ctx, target.id, { json: opts.json });
          return;
        }
        id = target.id;
        const base = recoveryBase(ctx, opts);
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        let result: VerifyResult;
        try {
          result = await verifyBackup({ backup: id, ...base }, await ctx.deps(), reporter);
        } finally {
          reporter.done();
        }
        ctx.io.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${renderVerify(result)}\n`);
        if (!result.passed) {
          throw new BantayError(ErrorCode.Integrity, `Backup ${result.backupId} FAILED verification`, { details: failureReasons(result.checks) });
        }
      }),
    );
}

/** "latest" (of --kind, default database) or an id, with the kind it names. */
async function resolveVerifyTarget(ctx: CliContext, id: string, kind: string | undefined): Promise<{ id: string; kind: BackupKind }> {
  if (id === 'latest') {
    const wanted = kind === undefined ? 'database' : parseKind(kind);
    return { id: (await findUsableBackup(await ctx.deps(), 'latest', { operation: 'verify', trigger: ctx.trigger(), kind: wanted })).id, kind: wanted };
  }
  if (kind !== undefined) throw new BantayError(ErrorCode.Usage, '--kind only goes with latest');
  const parsed = parseBackupId(id);
  const parsedKind = kindOfId(parsed);
  // Files backups are resolved by the files commands; checking here means a damaged or rejected
  // manifest is refused (and audited) the same way for every kind.
  if (parsedKind !== 'database') await findUsableBackup(await ctx.deps(), parsed, { operation: 'verify', trigger: ctx.trigger() });
  return { id: parsed, kind: parsedKind };
}

/** `verify ID --database NAME`: the restored database itself, compared with its backup; exit 1 when it differs. */
async function runDatabaseCheck(ctx: CliContext, id: string, database: string, json: boolean): Promise<void> {
  const { databaseUrl, maintenanceDb, trigger, signal } = recoveryBase(ctx, {});
  const result = await checkDatabaseAgainstBackup({ backup: id, database, databaseUrl, maintenanceDb, trigger, signal }, await ctx.deps());
  const head = `Database ${result.database} ${result.passed ? 'MATCHES' : 'DOES NOT MATCH'} backup ${result.backupId} (checked in ${formatDuration(result.durationSeconds)})`;
  ctx.io.stdout.write(json ? `${JSON.stringify(result)}\n` : `${head}\n${renderChecks(result.checks)}\n`);
  if (!result.passed) throw new BantayError(ErrorCode.Integrity, `Database ${result.database} does not match backup ${result.backupId}`, { details: failureReasons(result.checks) });
}

function renderVerify(r: VerifyResult): string {
  const head = `Backup ${r.backupId} ${r.passed ? 'PASSED' : 'FAILED'} verification in ${formatDuration(r.durationSeconds)} (restore and checks ${formatDuration(r.restoreSeconds)})`;
  const lines = [head, renderChecks(r.checks), `Scratch database ${r.scratchDatabase} dropped; result recorded as ${r.recordKey}`];
  if (r.usedTempFile) lines.push(TEMP_FILE_NOTE);
  return lines.join('\n');
}
