import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { failureReasons } from '../../jobs/restore-checks.ts';
import { verifyBackup, type VerifyResult } from '../../jobs/verify-backup.ts';
import type { CliContext } from '../context.ts';
import { formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';
import { recoveryBase, renderChecks, TEMP_FILE_NOTE } from '../recovery.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerVerifyCommand(program: Command, run: Run): void {
  program
    .command('verify')
    .description('restore a database backup into a scratch database and check it against its manifest')
    .argument('<id>', 'backup id, or "latest" (newest database backup)')
    .option('--jobs <n>', 'pg_restore parallel jobs (default BANTAY_RESTORE_JOBS)')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((id: string, opts: { jobs?: string; json?: boolean }) =>
      run(async (ctx) => {
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

function renderVerify(r: VerifyResult): string {
  const head = `Backup ${r.backupId} ${r.passed ? 'PASSED' : 'FAILED'} verification in ${formatDuration(r.durationSeconds)} (restore and checks ${formatDuration(r.restoreSeconds)})`;
  const lines = [head, renderChecks(r.checks), `Scratch database ${r.scratchDatabase} dropped; result recorded as ${r.recordKey}`];
  if (r.usedTempFile) lines.push(TEMP_FILE_NOTE);
  return lines.join('\n');
}
